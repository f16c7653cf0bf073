using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>The retention pass as the service runs it: cutoffs from <c>Centre:Retention</c> on fake time, and its audit line.</summary>
public sealed class RetentionJobTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 19, 0, TimeSpan.Zero);
    private readonly SqliteTestStores _stores = new();

    public void Dispose() => _stores.Dispose();

    [Fact]
    public async Task A_pass_removes_by_the_configured_days_and_leaves_one_audit_line_saying_how_much()
    {
        var store = await _stores.NewAsync();
        var time = new FakeTimeProvider(T0);
        await store.AddAlarmAsync(StoreContractTests.Alarm("a-1", raised: T0), default);
        Assert.True(await store.CloseAsync(StoreContractTests.Key("a-1"), "operator-1", T0.AddMinutes(5), "fell in the bathroom", CloseOutcome.Handled, default));
        var settings = new CentreSettings { Retention = new RetentionSettings { AlarmDays = 30, NoteDays = 7, AuditDays = 0 } };
        using var job = new RetentionJob(store, time, settings, NullLogger<RetentionJob>.Instance);

        Assert.False((await job.RunOnceAsync(default)).Any);

        time.Advance(TimeSpan.FromDays(8));
        Assert.Equal(new RetentionOutcome(0, 1, 0), await job.RunOnceAsync(default));
        Assert.Null((await store.GetAlarmAsync(StoreContractTests.Key("a-1"), default))!.Note);

        time.Advance(TimeSpan.FromDays(30));
        Assert.Equal(new RetentionOutcome(1, 0, 0), await job.RunOnceAsync(default));
        Assert.Null(await store.GetAlarmAsync(StoreContractTests.Key("a-1"), default));

        // AuditDays = 0 keeps the audit log for ever, including the two lines the passes wrote.
        var audit = await store.AuditAsync(T0, time.GetUtcNow().AddSeconds(1), 10, default);
        Assert.Equal(2, audit.Count);
        Assert.All(audit, a => Assert.Equal((RetentionJob.AuditActor, RetentionJob.AuditAction), (a.Actor, a.Action)));
        Assert.Contains("alarms deleted 1", audit[0].Target, StringComparison.Ordinal);
        Assert.Contains("notes cleared 1", audit[1].Target, StringComparison.Ordinal);
    }
}
