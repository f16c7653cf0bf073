namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// Slows password guessing with progressive delays, per user name and per client address, instead of a lock:
/// after <see cref="AccountFreeFailures"/> failures for a name, each next try for it must wait 1 s, 2 s, 4 s ... up to
/// <see cref="AccountMaxDelay"/> (so nobody can shut an operator out, only make her wait a few seconds); after
/// <see cref="AddressFreeFailures"/> failures from one address, each next try from it waits 1 s, 2 s ... up to
/// <see cref="AddressMaxDelay"/> (so spraying many names from one place is slow). A try is counted as a failure when
/// it is let through (<see cref="TryBegin"/>, one atomic step), before the password is checked, so parallel tries
/// cannot slip past the count; <see cref="Succeeded"/> then clears the name's count (not the address's).
/// In memory, per instance; time from <see cref="TimeProvider"/>. Its memory is bounded whatever is posted:
/// names are at most <see cref="ConsoleEndpoints.MaxUserNameLength"/> characters (longer ones never reach it),
/// an entry ends <see cref="Window"/> after its last failure, and at most <see cref="Capacity"/> entries are kept
/// (when full, the expired ones go first, then the one whose last failure is oldest).
/// </summary>
public sealed class LoginThrottle(TimeProvider time)
{
    public const int AccountFreeFailures = 3;
    public const int AddressFreeFailures = 10;
    public const int Capacity = 10_000;
    public static readonly TimeSpan AccountMaxDelay = TimeSpan.FromSeconds(8);
    public static readonly TimeSpan AddressMaxDelay = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    /// <summary>How many names and addresses are tracked now (for tests and monitoring).</summary>
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

    /// <summary>
    /// Null when the try may go ahead (it is then counted as a failure until <see cref="Succeeded"/>); otherwise how
    /// long to wait before the next try.
    /// </summary>
    public TimeSpan? TryBegin(string userName, string address)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            var account = Current("u:" + userName);
            var place = Current("a:" + address);
            var wait = Max(Wait(account, AccountFreeFailures, AccountMaxDelay, now), Wait(place, AddressFreeFailures, AddressMaxDelay, now));
            if (wait > TimeSpan.Zero)
            {
                return wait;
            }

            Record("u:" + userName, account, now);
            Record("a:" + address, place, now);
            return null;
        }
    }

    public void Succeeded(string userName)
    {
        lock (_lock)
        {
            _entries.Remove("u:" + userName);
        }
    }

    /// <summary>The delay after <paramref name="failures"/> failures: none for the free ones, then 1 s doubling up to the cap.</summary>
    public static TimeSpan Delay(int failures, int free, TimeSpan max) =>
        failures < free ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(Math.Pow(2, Math.Min(failures - free, 30)), max.TotalSeconds));

    private static TimeSpan Wait(Entry? e, int free, TimeSpan max, DateTimeOffset now) =>
        e is null ? TimeSpan.Zero : Max(TimeSpan.Zero, e.Last + Delay(e.Failures, free, max) - now);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private void Record(string key, Entry? e, DateTimeOffset now)
    {
        if (e is null)
        {
            MakeRoom(now);
            e = new Entry();
            _entries[key] = e;
        }

        e.Failures++;
        e.Last = now;
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
