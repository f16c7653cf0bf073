using System.Collections.Concurrent;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// Slows password guessing: after <see cref="MaxFailures"/> failed logins for one user name within
/// <see cref="Window"/>, that name is refused (without checking the password) until the window has passed.
/// In memory, per instance; time from <see cref="TimeProvider"/>.
/// </summary>
public sealed class LoginThrottle(TimeProvider time)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new(StringComparer.OrdinalIgnoreCase);

    public bool IsLocked(string userName)
    {
        if (!_failures.TryGetValue(userName, out var list))
        {
            return false;
        }

        lock (list)
        {
            Prune(list);
            return list.Count >= MaxFailures;
        }
    }

    public void Failed(string userName)
    {
        var list = _failures.GetOrAdd(userName, _ => new Queue<DateTimeOffset>());
        lock (list)
        {
            Prune(list);
            list.Enqueue(time.GetUtcNow());
        }
    }

    public void Succeeded(string userName) => _failures.TryRemove(userName, out _);

    private void Prune(Queue<DateTimeOffset> list)
    {
        var cutoff = time.GetUtcNow() - Window;
        while (list.Count > 0 && list.Peek() <= cutoff)
        {
            list.Dequeue();
        }
    }
}
