using System.Text;
using System.Threading.Channels;
using CareGateway.Mqtt;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet.Protocol;

namespace CareGateway.Cli;

/// <summary>One received MQTT message.</summary>
public sealed record MqttMessage(string Topic, byte[] Payload, bool Retained)
{
    public string Text => Encoding.UTF8.GetString(Payload);
}

/// <summary>
/// A short-lived MQTT connection for a technician command, on the product's <see cref="MqttConnection"/> (clean
/// session, its own client id, one connection attempt): every message of its subscriptions goes to
/// <see cref="Messages"/>, read in order with a deadline. A message is acknowledged once it is queued for the command:
/// a reader has nothing to make durable.
/// </summary>
public sealed class LocalMqtt : IAsyncDisposable
{
    private readonly MqttConnection _connection;
    private readonly Channel<MqttMessage> _messages = Channel.CreateUnbounded<MqttMessage>();

    private LocalMqtt(MqttConnection connection)
    {
        _connection = connection;
        _connection.Received = delivery =>
        {
            _messages.Writer.TryWrite(new MqttMessage(delivery.Topic, delivery.Payload, delivery.Retained));
            delivery.Acknowledge();
            return Task.CompletedTask;
        };
    }

    public ChannelReader<MqttMessage> Messages => _messages.Reader;

    public static async Task<LocalMqtt> ConnectAsync(string host, int port, string clientId, string? username, string? password, CancellationToken cancellationToken, MqttTlsOptions? tls = null, TimeSpan? connectTimeout = null)
    {
        var connection = new MqttConnection(
            new MqttConnectionOptions
            {
                Name = "the broker",
                Endpoint = new MqttEndpoint(host, port),
                ClientId = clientId,
                CleanStart = true,
                Username = username,
                Password = password is null ? null : () => password,
                Tls = tls,
                ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(10),
            },
            NullLogger.Instance);
        var mqtt = new LocalMqtt(connection);
        if (!await connection.TryConnectAsync(cancellationToken))
        {
            await connection.DisposeAsync();
            cancellationToken.ThrowIfCancellationRequested();
            throw new CliException(
                $"Cannot connect to the MQTT broker at {host}:{port} ({connection.LastFailure}).",
                "Check that the broker runs ('systemctl status mosquitto' for the local one) and that the address, port and credentials in the configuration are right.",
                ExitCodes.CheckFailed);
        }

        return mqtt;
    }

    public bool IsConnected => _connection.IsConnected;

    public Task SubscribeAsync(string filter, CancellationToken cancellationToken) =>
        _connection.AddSubscriptionAsync(new MqttSubscription(filter, MqttQualityOfServiceLevel.AtLeastOnce), cancellationToken);

    public async Task PublishAsync(string topic, string payload, CancellationToken cancellationToken, bool retain = false)
    {
        if (!await _connection.PublishAsync(topic, Encoding.UTF8.GetBytes(payload), MqttQualityOfServiceLevel.AtLeastOnce, retain, cancellationToken))
        {
            throw new CliException($"The broker did not take the message to {topic}.", "Check the broker's access control list for this client.", ExitCodes.CheckFailed);
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

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
