using CareGateway.Mqtt;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;

namespace CareGateway.ResponseCentre;

/// <summary>
/// One broker connection of this small centre, through the product's one MQTT connection part: connected once at
/// start (a failure is an error), then kept up by <see cref="MqttConnection.RunAsync"/> until disposed.
/// </summary>
internal sealed class CentreLink : IAsyncDisposable
{
    private readonly CentreOptions _options;
    private readonly MqttConnection _connection;
    private readonly CancellationTokenSource _life = new();
    private Task _run = Task.CompletedTask;

    public CentreLink(CentreOptions options, string clientId, IEnumerable<string> filters, Func<MqttDelivery, Task> received, TimeProvider time, ILogger log)
    {
        _options = options;
        _connection = new MqttConnection(
            new MqttConnectionOptions
            {
                Name = "the centre's broker",
                Endpoint = new MqttEndpoint(options.Host, options.Port),
                ClientId = clientId,
                Username = options.Username,
                Password = options.Password is { } password ? () => password : null,
                Tls = options.Tls,
                SessionExpiry = TimeSpan.FromDays(1),
                Subscriptions = [.. filters.Select(f => new MqttSubscription(f, MqttQualityOfServiceLevel.AtLeastOnce))],
            },
            log,
            time)
        {
            Received = received,
        };
    }

    public string? LastFailure => _connection.LastFailure;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!await _connection.TryConnectAsync(cancellationToken))
        {
            throw new InvalidOperationException($"The centre cannot reach its broker {_options.Host}:{_options.Port}: {_connection.LastFailure}");
        }

        _run = _connection.RunAsync(_life.Token);
    }

    public Task<bool> PublishAsync(string topic, byte[] payload, MqttQualityOfServiceLevel qos, CancellationToken cancellationToken) =>
        _connection.PublishAsync(topic, payload, qos, retain: false, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _life.CancelAsync();
        try
        {
            await _run;
        }
        catch (OperationCanceledException)
        {
        }

        _life.Dispose();
        await _connection.DisposeAsync();
    }
}
