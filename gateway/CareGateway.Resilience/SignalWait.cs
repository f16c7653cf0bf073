namespace CareGateway.Resilience;

/// <summary>
/// How the product's loops sleep: until a signal is released or a timeout passes on a <see cref="TimeProvider"/>,
/// whichever comes first. Nothing wakes in between: idle means asleep.
/// </summary>
public static class SignalWait
{
    /// <summary>Waits until <paramref name="signal"/> is released or <paramref name="timeout"/> passes on <paramref name="time"/>.</summary>
    public static async Task WaitAsync(SemaphoreSlim signal, TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(signal);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(timeout, time, linked.Token);
        var wake = signal.WaitAsync(linked.Token);
        await Task.WhenAny(delay, wake).ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        // Drain extra releases so one burst of signals wakes the loop once.
        while (signal.CurrentCount > 0 && signal.Wait(0, CancellationToken.None))
        {
        }
    }
}
