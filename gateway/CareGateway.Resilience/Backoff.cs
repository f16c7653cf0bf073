namespace CareGateway.Resilience;

/// <summary>
/// Exponential back-off with jitter for every loop that retries (connecting, storing, saving). The step starts at
/// <see cref="Initial"/>, doubles after each failure and stops growing at <see cref="Max"/> (the cap); each wait is
/// drawn uniformly from [step/2, step] ("equal jitter"), so a fleet that lost its broker at the same instant spreads
/// out instead of retrying in lockstep, and no client ever retries faster than half a step.
/// </summary>
/// <remarks>
/// With the cap reached, a client tries on average every 0.75 x cap, and a server that comes back is found on average
/// 0.39 x cap later (at worst one cap later). docs/operations.md ("Reconnecting") has the reasoning behind the defaults.
/// </remarks>
public sealed record Backoff
{
    public Backoff(TimeSpan initial, TimeSpan max)
    {
        if (initial <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(initial), initial, "the first back-off step must be positive");
        }

        if (max < initial)
        {
            throw new ArgumentOutOfRangeException(nameof(max), max, "the cap must not be below the first step");
        }

        Initial = initial;
        Max = max;
    }

    /// <summary>The first step (its wait is between half of it and all of it).</summary>
    public TimeSpan Initial { get; }

    /// <summary>The cap: no step is longer.</summary>
    public TimeSpan Max { get; }

    /// <summary>The step after <paramref name="failures"/> failures in a row (1 for the first failure): before jitter.</summary>
    public TimeSpan Step(int failures)
    {
        var step = Initial.Ticks;
        for (var i = 1; i < failures && step < Max.Ticks; i++)
        {
            step = Math.Min(step * 2, Max.Ticks);
        }

        return TimeSpan.FromTicks(Math.Min(step, Max.Ticks));
    }

    /// <summary>How long to wait after <paramref name="failures"/> failures in a row, for a <paramref name="random"/> draw in [0, 1).</summary>
    public TimeSpan Delay(int failures, double random)
    {
        var step = Step(failures).Ticks;
        return TimeSpan.FromTicks((step / 2) + (long)(Math.Clamp(random, 0, 1) * (step - (step / 2))));
    }

    /// <summary>Waits the delay for <paramref name="failures"/> failures on <paramref name="time"/>.</summary>
    public Task WaitAsync(int failures, Func<double> random, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(random);
        return Task.Delay(Delay(failures, random()), time, ct);
    }
}
