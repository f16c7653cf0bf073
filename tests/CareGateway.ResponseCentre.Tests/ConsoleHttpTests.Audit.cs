using System.Net;
using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Issue 18: the audit log records logins (failed ones too), actions, reads of lists and exports; only admins read it.</summary>
public sealed partial class ConsoleHttpTests
{
    private async Task<IReadOnlyList<AuditEntry>> AuditAsync() =>
        await _centre.Store.AuditAsync(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), 1000, default);

    [Fact]
    public async Task The_audit_log_records_logins_actions_and_exports_without_secrets_and_only_an_admin_reads_it()
    {
        using var kari = new Browser(_centre.BaseUrl);
        await kari.LoginAsync("kari", "hunter2-guess-7");
        await kari.LoginAsync("kari", Password);
        await kari.Http.GetStringAsync("/");
        await kari.Http.GetStringAsync("/queue/rows");
        Assert.Equal(HttpStatusCode.OK, (await kari.Http.GetAsync("/export/fhir?from=2026-11-01&to=2026-11-30")).StatusCode);
        using var denied = await kari.Http.GetAsync("/audit");
        Assert.StartsWith("/login", new Uri(new Uri(_centre.BaseUrl), denied.Headers.Location!).PathAndQuery, StringComparison.Ordinal);

        using var admin = new Browser(_centre.BaseUrl);
        await admin.LoginAsync("admin", Password);
        await admin.PostAsync("/gateways/gw-0042", ("csrf", await admin.TokenAsync("/gateways")), ("label", "Kunde 7"), ("group", "Nord"));

        var log = await AuditAsync();
        Assert.Contains(log, e => (e.Actor, e.Action) == ("kari", "POST /login") && e.Outcome.StartsWith("refused (401", StringComparison.Ordinal) && e.Address is not null);
        Assert.Contains(log, e => (e.Actor, e.Action, e.Outcome) == ("kari", "POST /login", "ok"));
        Assert.Contains(log, e => (e.Actor, e.Action) == ("kari", "GET /export/fhir") && e.Target!.Contains("from=2026-11-01", StringComparison.Ordinal));
        Assert.Contains(log, e => (e.Actor, e.Action) == ("kari", "GET /audit") && e.Outcome.StartsWith("refused (not allowed", StringComparison.Ordinal)); // the try is recorded too
        Assert.Contains(log, e => (e.Actor, e.Action, e.Target) == ("admin", "POST /gateways/{id}", "id=gw-0042"));
        Assert.True(!log.Any(e => e.Action is "GET /" or "GET /queue/rows"), string.Join("; ", log.Select(e => $"{e.Actor} {e.Action} {e.Target} {e.Outcome}"))); // the queue's own re-reads are not recorded
        Assert.DoesNotContain(log, e => $"{e.Actor} {e.Action} {e.Target} {e.Outcome}" is var line && (line.Contains("hunter2", StringComparison.Ordinal) || line.Contains(Password, StringComparison.Ordinal)));

        var page = await admin.Http.GetStringAsync("/audit");
        Assert.Contains("GET /export/fhir", page, StringComparison.Ordinal);
        Assert.Contains("Revisjonslogg", page, StringComparison.Ordinal);
        var csv = await admin.Http.GetStringAsync("/audit.csv");
        Assert.StartsWith("at,actor,action,target,outcome,address\n", csv, StringComparison.Ordinal);
        Assert.Contains(",kari,POST /login,", csv, StringComparison.Ordinal);
    }
}
