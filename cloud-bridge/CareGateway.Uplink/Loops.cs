namespace CareGateway.Uplink;

/// <summary>What the uplinks' loops share besides <see cref="Sensors.SignalWait"/>: saying why a connection failed.</summary>
internal static class Loops
{
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
