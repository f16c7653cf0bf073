using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>Every few seconds (on <see cref="TimeProvider"/>): finds silent gateways and re-sends acknowledgements the broker missed.</summary>
public sealed class HealthMonitor : BackgroundService
{
    private readonly CentreCore _core;
    private readonly ILogger<HealthMonitor> _log;

    // Created here, not in ExecuteAsync (which .NET runs on a background thread): the clock starts with the service.
    private readonly PeriodicTimer _timer;

    public HealthMonitor(CentreCore core, TimeProvider time, CentreSettings settings, ILogger<HealthMonitor> log)
    {
        _core = core;
        _log = log;
        _timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, settings.HealthCheckSeconds)), time);
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
                await _core.CheckHeartbeatsAsync(stoppingToken);
                await _core.RetryUnsentAcksAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The database or the broker is away for a moment; the next round tries again.
                _log.LogWarning(ex, "Health check failed");
            }
        }
    }
}
