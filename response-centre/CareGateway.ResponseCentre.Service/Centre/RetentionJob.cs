using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>
/// Removes what the centre no longer needs (<see cref="RetentionSettings"/>): at start and then every
/// <see cref="RetentionSettings.CheckHours"/> on <see cref="TimeProvider"/>. Each pass that removed something leaves one
/// audit line saying how much, so the audit log shows that data went by rule and not by hand.
/// </summary>
public sealed class RetentionJob : BackgroundService
{
    public const string AuditActor = "(retention)";
    public const string AuditAction = "retention";

    private readonly ICentreStore _store;
    private readonly TimeProvider _time;
    private readonly RetentionSettings _settings;
    private readonly ILogger<RetentionJob> _log;
    private readonly PeriodicTimer _timer;

    public RetentionJob(ICentreStore store, TimeProvider time, CentreSettings settings, ILogger<RetentionJob> log)
    {
        _store = store;
        _time = time;
        _settings = settings.Retention;
        _log = log;
        _timer = new PeriodicTimer(TimeSpan.FromHours(Math.Max(0.1, _settings.CheckHours)), time);
    }

    /// <summary>One pass: removes what is past its time and records it.</summary>
    public async Task<RetentionOutcome> RunOnceAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var outcome = await _store.ApplyRetentionAsync(_settings.CutoffsAt(now), ct);
        if (outcome.Any)
        {
            var what = $"alarms deleted {outcome.AlarmsDeleted}, notes cleared {outcome.NotesCleared}, audit lines deleted {outcome.AuditDeleted}";
            await _store.AddAuditAsync(new AuditEntry { AuditId = Guid.CreateVersion7().ToString(), At = now, Actor = AuditActor, Action = AuditAction, Target = what, Outcome = "ok" }, ct);
            _log.LogInformation("Retention: {What}", what);
        }

        return outcome;
    }

    public override void Dispose()
    {
        _timer.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The database is away for a moment; the next pass tries again (nothing is lost by waiting).
                _log.LogWarning(ex, "Retention pass failed; it runs again in {Hours} h", _settings.CheckHours);
            }
        }
        while (await _timer.WaitForNextTickAsync(stoppingToken));
    }
}
