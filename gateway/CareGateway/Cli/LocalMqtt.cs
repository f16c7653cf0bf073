using System.Buffers;
using System.Text;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.Cli;

/// <summary>One received MQTT message.</summary>
public sealed record MqttMessage(string Topic, byte[] Payload, bool Retained)
{
    public string Text => Encoding.UTF8.GetString(Payload);
}

/// <summary>
/// A short-lived MQTT connection for a technician command (clean session, its own client id): every message of its
/// subscriptions goes to <see cref="Messages"/>, read in order with a deadline.
/// </summary>
public sealed class LocalMqtt : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly Channel<MqttMessage> _messages = Channel.CreateUnbounded<MqttMessage>();

    private LocalMqtt(IMqttClient client) => _client = client;

    public ChannelReader<MqttMessage> Messages => _messages.Reader;

    public static async Task<LocalMqtt> ConnectAsync(string host, int port, string clientId, string? username, string? password, CancellationToken cancellationToken, MqttClientTlsOptions? tls = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var mqtt = new LocalMqtt(client);
        client.ApplicationMessageReceivedAsync += e =>
        {
            mqtt._messages.Writer.TryWrite(new MqttMessage(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), e.ApplicationMessage.Retain));
            return Task.CompletedTask;
        };
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithClientId(clientId)
            .WithCleanStart()
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (username is not null)
        {
            builder = builder.WithCredentials(username, password);
        }

        if (tls is not null)
        {
            builder = builder.WithTlsOptions(tls);
        }

        try
        {
            await client.ConnectAsync(builder.Build(), cancellationToken);
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or MQTTnet.Adapter.MqttConnectingFailedException or OperationCanceledException or TimeoutException)
        {
            client.Dispose();
            throw new CliException(
                $"Cannot connect to the MQTT broker at {host}:{port} ({ex.Message}).",
                "Check that the broker runs ('systemctl status mosquitto' for the local one) and that the address, port and credentials in the configuration are right.",
                ExitCodes.CheckFailed);
        }

        return mqtt;
    }

    public bool IsConnected => _client.IsConnected;

    public Task SubscribeAsync(string filter, CancellationToken cancellationToken) =>
        _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken);

    public async Task PublishAsync(string topic, string payload, CancellationToken cancellationToken, bool retain = false)
    {
        var result = await _client.PublishAsync(
            new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build(),
            cancellationToken);
        if (!result.IsSuccess)
        {
            throw new CliException($"The broker refused the message to {topic} ({result.ReasonCode}).", "Check the broker's access control list for this client.", ExitCodes.CheckFailed);
        }
    }

    /// <summary>The next message for which <paramref name="match"/> is true, or null when <paramref name="deadline"/> passes first.</summary>
    public async Task<MqttMessage?> WaitForAsync(Func<MqttMessage, bool> match, TimeSpan deadline, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(match);
        using var timeout = new CancellationTokenSource(deadline, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            while (true)
            {
                var message = await _messages.Reader.ReadAsync(linked.Token);
                if (match(message))
                {
                    return message;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync();
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException)
            {
            }
        }

        _client.Dispose();
    }
}
