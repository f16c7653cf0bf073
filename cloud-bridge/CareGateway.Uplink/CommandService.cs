using System.Threading.Channels;
using CareGateway.Core.Commands;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;

namespace CareGateway.Uplink;

/// <summary>
/// Connects a <see cref="ICommandChannel"/> to the <see cref="CommandExecutor"/>: commands are queued as they arrive
/// (so the MQTT client's receive path never waits on a command), carried out one at a time, and each result is sent
/// back. A result that cannot be sent is not retried here: the centre re-sends the command with the same id, and the
/// executor answers it again without running it again.
/// </summary>
public sealed class CommandService
{
    private readonly ICommandChannel _channel;
    private readonly CommandExecutor _executor;
    private readonly ILogger _log;
    private readonly Channel<byte[]> _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(100) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    public CommandService(ICommandChannel channel, CommandExecutor executor, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _channel = channel;
        _executor = executor;
        _log = log;
        _channel.CommandReceived += payload =>
        {
            if (!_queue.Writer.TryWrite(payload))
            {
                _log.LogWarning("Command dropped: 100 commands already wait; the centre will re-send it");
            }
        };
    }

    /// <summary>Raised after a result was handed to the broker (PUBACK) or hub.</summary>
    public event Action<CommandResultMessage>? ResultSent;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await foreach (var payload in _queue.Reader.ReadAllAsync(cancellationToken))
        {
            try
            {
                if (await _executor.HandleAsync(payload, cancellationToken) is not { } result)
                {
                    continue;
                }

                if (await _channel.PublishCommandResultAsync(CommandJson.Serialize(result), cancellationToken))
                {
                    ResultSent?.Invoke(result);
                }
                else
                {
                    _log.LogWarning("The result of command {CommandId} could not be sent; the centre will ask again", result.CommandId);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                _log.LogError(ex, "A command could not be handled; the gateway carries on");
            }
        }
    }
}
