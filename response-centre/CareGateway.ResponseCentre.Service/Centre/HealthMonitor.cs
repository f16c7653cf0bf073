using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>Every few seconds (on <see cref="TimeProvider"/>): finds silent gateways, re-sends acknowledgements the broker missed and commands the gateways have not answered.</summary>
public sealed class HealthMonitor : BackgroundService
{
    private readonly CentreCore _core;
    private readonly GatewayCommands _commands;
    private readonly ILogger<HealthMonitor> _log;

    // Created here, not in ExecuteAsync (which .NET runs on a background thread): the clock starts with the service.
    private readonly PeriodicTimer _timer;

    public HealthMonitor(CentreCore core, GatewayCommands commands, TimeProvider time, CentreSettings settings, ILogger<HealthMonitor> log)
    {
        _core = core;
        _commands = commands;
        _log = log;
        _timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, settings.HealthCheckSeconds)), time);
    }

    private IntakeStatistics? _last;

    /// <summary>At Debug, each tick: commits, alarms and heartbeats since the last tick, and the commits' time.</summary>
    private void LogIntake()
    {
        if (!_log.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        var now = _core.TakeIntakeStatistics();
        var last = _last ?? new IntakeStatistics(0, 0, 0, TimeSpan.Zero, TimeSpan.Zero);
        _last = now;
        var commits = now.Commits - last.Commits;
        if (commits > 0)
        {
            _log.LogDebug("Intake: {Commits} commits, {Alarms} alarms, {Heartbeats} heartbeats; {Mean:F2} ms per commit, longest {Longest:F1} ms",
                commits, now.Alarms - last.Alarms, now.Heartbeats - last.Heartbeats, (now.InCommits - last.InCommits).TotalMilliseconds / commits, now.LongestCommitSinceLast.TotalMilliseconds);
        }
    }

    public override void Dispose()
    {
        _timer.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (await _timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                LogIntake();
                await _core.CheckHeartbeatsAsync(stoppingToken);
                await _core.RetryUnsentAcksAsync(stoppingToken);
                await _core.EscalateOverdueAsync(stoppingToken);
                await _core.CheckTestAlarmsAsync(stoppingToken);
                await _commands.ResendWaitingAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The database or the broker is away for a moment; the next round tries again.
                _log.LogWarning(ex, "Health check failed");
            }
        }
    }
}
