using System.Threading.Channels;
using CareGateway.Core.Commands;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;

namespace CareGateway.Uplink;

/// <summary>
/// Connects a <see cref="ICommandChannel"/> to the <see cref="CommandExecutor"/>: commands are queued as they arrive
/// (so the MQTT client's receive path never waits on a command), carried out one at a time, and each is acknowledged to
/// the broker only once its result is in the command journal (so a kill before that gets it delivered again, and the
/// journal makes sure it runs once). Each result is sent back; one that cannot be sent is not retried here: the centre
/// re-sends the command with the same id, and the executor answers it again without running it again. The queue is not
/// bounded here: the broker's flow control (our Receive Maximum) bounds what is unacknowledged.
/// </summary>
public sealed class CommandService
{
    private readonly ICommandChannel _channel;
    private readonly CommandExecutor _executor;
    private readonly ILogger _log;
    private readonly Channel<ReceivedCommand> _queue = Channel.CreateUnbounded<ReceivedCommand>(new UnboundedChannelOptions { SingleReader = true });

    public CommandService(ICommandChannel channel, CommandExecutor executor, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _channel = channel;
        _executor = executor;
        _log = log;
        _channel.CommandReceived += command => _queue.Writer.TryWrite(command);
    }

    /// <summary>Raised after a result was handed to the broker (PUBACK) or hub.</summary>
    public event Action<CommandResultMessage>? ResultSent;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await foreach (var command in _queue.Reader.ReadAllAsync(cancellationToken))
        {
            try
            {
                var result = await _executor.HandleAsync(command.Payload, cancellationToken);

                // The result is in the journal (or the message was unusable): the broker may forget the command.
                command.Acknowledge();
                if (result is null)
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
                command.Acknowledge();
                _log.LogError(ex, "A command could not be handled; the gateway carries on");
            }
        }
    }
}
