using System.Threading.Channels;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>Tells open consoles that something changed (server-sent events). Each subscriber has a small bounded queue.</summary>
public sealed class CentreEvents
{
    private readonly Lock _gate = new();
    private readonly List<Channel<string>> _subscribers = [];

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

    public void Unsubscribe(Channel<string> channel)
    {
        lock (_gate)
        {
            _subscribers.Remove(channel);
        }
    }
}
