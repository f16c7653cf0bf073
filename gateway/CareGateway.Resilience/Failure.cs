namespace CareGateway.Resilience;

/// <summary>Saying why something failed, in one line for the log: a reason code, a reason string and an exception chain.</summary>
public static class Failure
{
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

    /// <summary>The exception chain only, for the log.</summary>
    public static string Describe(Exception ex) => Describe(null, null, ex);
}
