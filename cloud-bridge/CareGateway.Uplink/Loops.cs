namespace CareGateway.Uplink;

/// <summary>What the uplinks' loops share: waiting for a wake-up or a timeout, and saying why a connection failed.</summary>
internal static class Loops
{
    /// <summary>Waits until <paramref name="signal"/> is released or <paramref name="timeout"/> passes on <paramref name="time"/>.</summary>
    public static async Task WaitAsync(SemaphoreSlim signal, TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(timeout, time, linked.Token);
        var wake = signal.WaitAsync(linked.Token);
        await Task.WhenAny(delay, wake);
        await linked.CancelAsync();
        ct.ThrowIfCancellationRequested();
        // Drain extra releases so one burst of signals wakes the loop once.
        while (signal.CurrentCount > 0 && signal.Wait(0, CancellationToken.None))
        {
        }
    }

    /// <summary>A reason code, a reason string and an exception chain, in one line for the log.</summary>
    public static string Describe(string? code, string? reason, Exception? ex)
    {
        var parts = new List<string>();
        if (!string.IsNullOrEmpty(code))
        {
            parts.Add(code);
        }

        if (!string.IsNullOrEmpty(reason))
        {
            parts.Add(reason);
        }

        for (var e = ex; e is not null; e = e.InnerException)
        {
            parts.Add($"{e.GetType().Name}: {e.Message}");
        }

        return parts.Count == 0 ? "no reason given" : string.Join("; ", parts);
    }
}
