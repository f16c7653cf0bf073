using System.Threading.Channels;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>Tells open consoles that something changed (server-sent events). Each subscriber has a small bounded queue.</summary>
public sealed class CentreEvents
{
    private readonly Lock _gate = new();
    private readonly List<Channel<string>> _subscribers = [];
    private readonly List<SemaphoreSlim> _closedWatchers = [];

    public void Publish(string kind)
    {
        lock (_gate)
        {
            foreach (var s in _subscribers)
            {
                s.Writer.TryWrite(kind);
            }
        }
    }

    public Channel<string> Subscribe()
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_gate)
        {
            _subscribers.Add(channel);
        }

        return channel;
    }

    /// <summary>
    /// Wakes <paramref name="signal"/> (released once) each time an operator closes an alarm: how the VKP sender sleeps
    /// until there is something to send instead of polling the store.
    /// </summary>
    public void WatchClosed(SemaphoreSlim signal)
    {
        lock (_gate)
        {
            _closedWatchers.Add(signal);
        }
    }

    /// <summary>An alarm was closed (after the store has it): wakes every <see cref="WatchClosed"/> signal.</summary>
    public void PublishClosed()
    {
        lock (_gate)
        {
            foreach (var s in _closedWatchers)
            {
                s.Release();
            }
        }
    }

    public void Unsubscribe(Channel<string> channel)
    {
        lock (_gate)
        {
            _subscribers.Remove(channel);
        }
    }
}
