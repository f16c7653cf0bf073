using System.Collections.Concurrent;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;
using CareGateway.Mqtt;
using MQTTnet.Protocol;

namespace CareGateway.ResponseCentre;

/// <summary>
/// The centre's side of the command exchange (docs/protocol.md, "Commands from the centre"): sends a command to a
/// gateway and re-sends it, with the same command id, until the gateway's result arrives. The gateway runs a command
/// once per id and answers every copy, so re-sending is always safe.
/// </summary>
public sealed class CentreCommands : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly CentreLink _link;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CommandResultMessage>> _waiting = new(StringComparer.Ordinal);

    public CentreCommands(CentreOptions options, TimeProvider time, ILogger log)
    {
        _time = time;
        _log = log;
        _link = new CentreLink(options, options.CentreId + "-commands", [Topics.AllGateways(CommandTopics.ResultLeaf)], OnMessageAsync, time, log);
    }

    /// <summary>Raised for every valid result, also for results nobody waits for any more.</summary>
    public event Action<CommandResultMessage>? ResultReceived;

    public Task StartAsync(CancellationToken cancellationToken) => _link.StartAsync(cancellationToken);

    /// <summary>
    /// Sends <paramref name="command"/> and waits for its result, sending it again every <paramref name="resendAfter"/>
    /// (same command id) until the result arrives or <paramref name="cancellationToken"/> gives up.
    /// </summary>
    public async Task<CommandResultMessage> SendAsync(CommandMessage command, TimeSpan resendAfter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var waiter = _waiting.GetOrAdd(command.CommandId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            var payload = CommandJson.Serialize(command);
            for (var attempt = 1; ; attempt++)
            {
                if (!await _link.PublishAsync(CommandTopics.Command(command.GatewayId), payload, MqttQualityOfServiceLevel.AtLeastOnce, cancellationToken))
                {
                    _log.LogWarning("The broker did not take command {CommandId} for {GatewayId}; it is sent again", command.CommandId, command.GatewayId);
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var resend = Task.Delay(resendAfter, _time, wait.Token);
                var done = await Task.WhenAny(waiter.Task, resend);
                await wait.CancelAsync();
                if (done == waiter.Task)
                {
                    return await waiter.Task;
                }

                cancellationToken.ThrowIfCancellationRequested();
                _log.LogInformation("No result for command {CommandId} yet; sending it again (attempt {Attempt})", command.CommandId, attempt + 1);
            }
        }
        finally
        {
            _waiting.TryRemove(command.CommandId, out _);
        }
    }

    public ValueTask DisposeAsync() => _link.DisposeAsync();

    private Task OnMessageAsync(MqttDelivery delivery)
    {
        // A result only completes a waiting send: nothing to store, so it is acknowledged at once.
        delivery.Acknowledge();
        var topic = delivery.Topic;
        if (!Topics.TryParse(topic, out var gatewayId, out var leaf) || leaf != CommandTopics.ResultLeaf)
        {
            return Task.CompletedTask;
        }

        if (!CommandJson.TryParseResult(delivery.Payload, out var result, out var error))
        {
            _log.LogWarning("Rejected command result on {Topic}: {Error}", topic, error);
            return Task.CompletedTask;
        }

        if (result.GatewayId != gatewayId)
        {
            _log.LogWarning("Rejected command result on {Topic}: it names gateway {Other}", topic, result.GatewayId);
            return Task.CompletedTask;
        }

        if (_waiting.TryGetValue(result.CommandId, out var waiter))
        {
            waiter.TrySetResult(result);
        }

        ResultReceived?.Invoke(result);
        return Task.CompletedTask;
    }
}
