using System.Globalization;

namespace CareGateway.Hardware;

/// <summary>
/// The systemd watchdog keep-alive. <c>AddSystemd()</c> sends READY=1 and STOPPING=1 but never WATCHDOG=1; this sends
/// it at half the interval systemd asked for (<c>WATCHDOG_USEC</c>), and only while the gateway's own probe answers
/// (the rule loop is alive). A hung gateway therefore stops the keep-alives and systemd restarts it.
/// </summary>
public sealed class SystemdWatchdog
{
    private readonly TimeSpan _interval;
    private readonly Func<CancellationToken, Task> _probe;
    private readonly Action<string> _notify;
    private readonly TimeProvider _time;
    private readonly Action<string> _warn;

    /// <param name="interval">The keep-alive period (half of systemd's <c>WatchdogSec</c>).</param>
    /// <param name="probe">Completes while the gateway is healthy; a probe that fails or does not finish within one period withholds the keep-alive.</param>
    /// <param name="notify">Sends a state line to systemd (e.g. <c>ISystemdNotifier.Notify</c>).</param>
    /// <param name="time">Clock for the period.</param>
    /// <param name="warn">Where to say that a keep-alive was withheld.</param>
    public SystemdWatchdog(TimeSpan interval, Func<CancellationToken, Task> probe, Action<string> notify, TimeProvider time, Action<string> warn)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _interval = interval;
        _probe = probe;
        _notify = notify;
        _time = time;
        _warn = warn;
    }

    /// <summary>How many keep-alives were withheld because the probe failed.</summary>
    public int Withheld { get; private set; }

    /// <summary>
    /// The keep-alive period systemd asks for, from <c>WATCHDOG_USEC</c> and <c>WATCHDOG_PID</c>; null when the
    /// watchdog is off or meant for another process.
    /// </summary>
    public static TimeSpan? IntervalFromEnvironment(string? watchdogUsec, string? watchdogPid, int processId)
    {
        if (!long.TryParse(watchdogUsec, NumberStyles.None, CultureInfo.InvariantCulture, out var usec) || usec <= 0)
        {
            return null;
        }

        if (watchdogPid is not null &&
            (!int.TryParse(watchdogPid, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid != processId))
        {
            return null;
        }

        return TimeSpan.FromMicroseconds(usec / 2.0);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await Task.Delay(_interval, _time, cancellationToken);
            using var deadline = new CancellationTokenSource(_interval, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
            try
            {
                await _probe(linked.Token).WaitAsync(linked.Token);
                _notify("WATCHDOG=1");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                Withheld++;
                _warn($"The gateway did not answer its health probe ({ex.GetType().Name}: {ex.Message}); withholding the systemd watchdog keep-alive.");
            }
        }
    }
}
