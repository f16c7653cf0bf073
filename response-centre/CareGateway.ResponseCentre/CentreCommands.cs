using System.Buffers;
using System.Collections.Concurrent;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.ResponseCentre;

/// <summary>
/// The centre's side of the command exchange (docs/protocol.md, "Commands from the centre"): sends a command to a
/// gateway and re-sends it, with the same command id, until the gateway's result arrives. The gateway runs a command
/// once per id and answers every copy, so re-sending is always safe.
/// </summary>
public sealed class CentreCommands : IAsyncDisposable
{
    private readonly CentreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly IMqttClient _client;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CommandResultMessage>> _waiting = new(StringComparer.Ordinal);

    public CentreCommands(CentreOptions options, TimeProvider time, ILogger log)
    {
        _options = options;
        _time = time;
        _log = log;
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
    }

    /// <summary>Raised for every valid result, also for results nobody waits for any more.</summary>
    public event Action<CommandResultMessage>? ResultReceived;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithClientId(_options.CentreId + "-commands")
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)TimeSpan.FromDays(1).TotalSeconds);
        if (_options.Username is not null)
        {
            options = options.WithCredentials(_options.Username, _options.Password);
        }

        await _client.ConnectAsync(options.Build(), cancellationToken);
        await _client.SubscribeAsync(
            new MqttClientSubscribeOptionsBuilder().WithTopicFilter(Topics.AllGateways(CommandTopics.ResultLeaf), MqttQualityOfServiceLevel.AtLeastOnce).Build(),
            cancellationToken);
    }

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
                var published = await _client.PublishAsync(
                    new MqttApplicationMessageBuilder()
                        .WithTopic(CommandTopics.Command(command.GatewayId))
                        .WithPayload(payload)
                        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                        .WithContentType("application/json")
                        .Build(),
                    cancellationToken);
                if (!published.IsSuccess)
                {
                    _log.LogWarning("The broker refused command {CommandId} for {GatewayId}: {Code}", command.CommandId, command.GatewayId, published.ReasonCode);
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

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }

        _client.Dispose();
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        if (!Topics.TryParse(topic, out var gatewayId, out var leaf) || leaf != CommandTopics.ResultLeaf)
        {
            return Task.CompletedTask;
        }

        if (!CommandJson.TryParseResult(e.ApplicationMessage.Payload.ToArray(), out var result, out var error))
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
