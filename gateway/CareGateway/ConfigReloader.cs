using CareGateway.Resilience;

namespace CareGateway;

/// <summary>
/// Watches the configuration file of a running gateway: an inotify watch on its directory (any write, replace or atomic
/// rename of the file) wakes a look at the file (again <see cref="Settle"/> later when it is half written), and it is also read every
/// <see cref="Interval"/> on the injected clock, in case the watch misses a change (a file system without inotify, a
/// watch the kernel dropped). Nothing else wakes it: idle means asleep (docs/performance.md). A changed, valid file that
/// differs from the configuration in use is handed to <c>apply</c>; a changed, invalid one is reported once, with every
/// problem and its JSON path, and the configuration in use stays.
/// </summary>
public sealed class ConfigReloader(string path, GatewayConfig current, TimeProvider time, Action<GatewayConfig> apply, Action<IReadOnlyList<string>> invalid)
{
    /// <summary>
    /// How often the file is read even without a notification from the watch: a change the watch missed (seen under
    /// load in the reload test) is applied within this, at 0.1 wake-ups a second.
    /// </summary>
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the file is read when no watch could be set up (before issue 17, always).</summary>
    public static TimeSpan UnwatchedInterval { get; } = TimeSpan.FromSeconds(2);

    /// <summary>How long after a notification the file is read: an editor's write in several steps is read once, whole.</summary>
    public static TimeSpan Settle { get; } = TimeSpan.FromMilliseconds(300);

    private string _currentJson = ConfigLoader.Serialize(current);
    private string? _lastText = ReadOrNull(path);
    private int _notified;

    /// <summary>Looks at the file once: applies or reports a change. True when a new configuration was applied.</summary>
    public bool Check() => Look(reportInvalid: true) == true;

    /// <summary>Null when the file changed but is not valid and <paramref name="reportInvalid"/> is false: it is looked at again.</summary>
    private bool? Look(bool reportInvalid)
    {
        var text = ReadOrNull(path);
        if (text is null || text == _lastText)
        {
            return false;
        }

        GatewayConfig next;
        try
        {
            next = ConfigLoader.Parse(text, path);
        }
        catch (ConfigException ex)
        {
            if (!reportInvalid)
            {
                return null; // perhaps half written: looked at again once the writer is done
            }

            _lastText = text;
            invalid(ex.Errors);
            return false;
        }

        _lastText = text;
        var json = ConfigLoader.Serialize(next);
        if (json == _currentJson)
        {
            return false; // saved again, or reformatted: nothing to restart for
        }

        _currentJson = json;
        apply(next);
        return true;
    }

    /// <summary>Checks on every notification from the watch, and every <see cref="Interval"/>, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var changed = new SemaphoreSlim(0);
        using var watcher = Watch(path, changed);
        var interval = watcher is null ? UnwatchedInterval : Interval;
        try
        {
            // A change made before the watch was set up (while the gateway restarted on the previous one) has no
            // notification coming: look once now.
            Check();
            while (!cancellationToken.IsCancellationRequested)
            {
                await SignalWait.WaitAsync(changed, interval, time, cancellationToken);
                if (Interlocked.Exchange(ref _notified, 0) == 1 && Look(reportInvalid: false) is null)
                {
                    // Notified, and the file does not parse: an editor may be half way through writing it. Look again
                    // once it had time to finish; only then is a broken file reported.
                    await Task.Delay(Settle, time, cancellationToken);
                }

                Check();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>An inotify watch on the file's directory (renames into place included), or null when none can be had.</summary>
    private FileSystemWatcher? Watch(string path, SemaphoreSlim changed)
    {
        var full = Path.GetFullPath(path);
        FileSystemWatcher? watcher = null;
        try
        {
            watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                IncludeSubdirectories = false,
            };
            void Wake()
            {
                Interlocked.Exchange(ref _notified, 1);
                try
                {
                    changed.Release();
                }
                catch (ObjectDisposedException)
                {
                    // the reloader stopped while the notification was on its way
                }
            }

            watcher.Changed += (_, _) => Wake();
            watcher.Created += (_, _) => Wake();
            watcher.Renamed += (_, _) => Wake();
            watcher.Deleted += (_, _) => Wake();
            watcher.Error += (_, _) => Wake();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
#pragma warning disable CA1031 // no watch (no inotify, no instances left, no read access): the file is read every UnwatchedInterval instead
        catch (Exception)
#pragma warning restore CA1031
        {
            watcher?.Dispose();
            return null;
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
