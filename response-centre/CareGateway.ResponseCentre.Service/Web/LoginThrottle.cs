namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// Slows password guessing: after <see cref="MaxFailures"/> failed logins for one user name within
/// <see cref="Window"/>, that name is refused (without checking the password) until the window has passed.
/// In memory, per instance; time from <see cref="TimeProvider"/>. Its memory is bounded whatever is posted:
/// names are at most <see cref="ConsoleEndpoints.MaxUserNameLength"/> characters (longer ones never reach it),
/// an entry ends <see cref="Window"/> after its last failure, and at most <see cref="Capacity"/> entries are kept
/// (when full, the expired ones go first, then the one whose last failure is oldest).
/// </summary>
public sealed class LoginThrottle(TimeProvider time)
{
    public const int MaxFailures = 5;
    public const int Capacity = 10_000;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    /// <summary>How many names are tracked now (for tests and monitoring).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public bool IsLocked(string userName)
    {
        lock (_lock)
        {
            return Current(userName) is { } e && e.Failures >= MaxFailures;
        }
    }

    public void Failed(string userName)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            var e = Current(userName);
            if (e is null)
            {
                MakeRoom(now);
                e = new Entry();
                _entries[userName] = e;
            }

            e.Failures++;
            e.Last = now;
        }
    }

    public void Succeeded(string userName)
    {
        lock (_lock)
        {
            _entries.Remove(userName);
        }
    }

    /// <summary>The entry if it has not expired (an expired one is removed). Call under the lock.</summary>
    private Entry? Current(string key)
    {
        if (!_entries.TryGetValue(key, out var e))
        {
            return null;
        }

        if (e.Last + Window <= time.GetUtcNow())
        {
            _entries.Remove(key);
            return null;
        }

        return e;
    }

    private void MakeRoom(DateTimeOffset now)
    {
        if (_entries.Count < Capacity)
        {
            return;
        }

        foreach (var (key, e) in _entries.ToList())
        {
            if (e.Last + Window <= now)
            {
                _entries.Remove(key);
            }
        }

        while (_entries.Count >= Capacity)
        {
            _entries.Remove(_entries.MinBy(kv => kv.Value.Last).Key);
        }
    }

    private sealed class Entry
    {
        public int Failures { get; set; }

        public DateTimeOffset Last { get; set; }
    }
}
