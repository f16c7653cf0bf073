using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>Every few seconds (on <see cref="TimeProvider"/>): finds silent gateways and re-sends acknowledgements the broker missed.</summary>
public sealed class HealthMonitor(CentreCore core, TimeProvider time, CentreSettings settings, ILogger<HealthMonitor> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, settings.HealthCheckSeconds)), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await core.CheckHeartbeatsAsync(stoppingToken);
                await core.RetryUnsentAcksAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The database or the broker is away for a moment; the next round tries again.
                log.LogWarning(ex, "Health check failed");
            }
        }
    }
}
