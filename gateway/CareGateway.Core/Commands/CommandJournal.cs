using CareGateway.Protocol;

namespace CareGateway.Core.Commands;

/// <summary>
/// Results of commands already carried out, by command id, so that a command delivered twice (QoS 1 redelivery, or the
/// centre re-sending because a result was lost) is answered again without running again.
/// </summary>
public interface ICommandJournal
{
    CommandResultMessage? Find(string commandId);

    void Record(CommandResultMessage result);
}

/// <summary>A journal in memory that keeps the most recent <see cref="Capacity"/> results (for tests and the demo).</summary>
public sealed class InMemoryCommandJournal(int capacity = 1000) : ICommandJournal
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, CommandResultMessage> _results = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "must be positive");

    public CommandResultMessage? Find(string commandId)
    {
        lock (_gate)
        {
            return _results.GetValueOrDefault(commandId);
        }
    }

    public void Record(CommandResultMessage result)
    {
        ArgumentNullException.ThrowIfNull(result);
        lock (_gate)
        {
            if (_results.TryAdd(result.CommandId, result))
            {
                _order.Enqueue(result.CommandId);
                while (_order.Count > Capacity)
                {
                    _results.Remove(_order.Dequeue());
                }
            }
        }
    }
}
