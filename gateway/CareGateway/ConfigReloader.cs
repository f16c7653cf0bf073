namespace CareGateway;

/// <summary>
/// Watches the configuration file of a running gateway by reading it every <see cref="Interval"/> on the injected
/// clock (a file-system watcher misses editors that replace the file, and atomic renames). A changed, valid file that
/// differs from the configuration in use is handed to <c>apply</c>; a changed, invalid one is reported once, with every
/// problem and its JSON path, and the configuration in use stays.
/// </summary>
public sealed class ConfigReloader(string path, GatewayConfig current, TimeProvider time, Action<GatewayConfig> apply, Action<IReadOnlyList<string>> invalid)
{
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(2);

    private string _currentJson = ConfigLoader.Serialize(current);
    private string? _lastText = ReadOrNull(path);

    /// <summary>Looks at the file once: applies or reports a change. True when a new configuration was applied.</summary>
    public bool Check()
    {
        var text = ReadOrNull(path);
        if (text is null || text == _lastText)
        {
            return false;
        }

        _lastText = text;
        GatewayConfig next;
        try
        {
            next = ConfigLoader.Parse(text, path);
        }
        catch (ConfigException ex)
        {
            invalid(ex.Errors);
            return false;
        }

        var json = ConfigLoader.Serialize(next);
        if (json == _currentJson)
        {
            return false; // saved again, or reformatted: nothing to restart for
        }

        _currentJson = json;
        apply(next);
        return true;
    }

    /// <summary>Checks every <see cref="Interval"/> until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Check();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // between an editor's delete and write: look again next time
        }
    }
}
