using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using CareGateway.Mqtt;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;
using Xunit.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>
/// The product's one MQTT connection part against real brokers: manual acknowledgement in arrival order, redelivery
/// of what was not acknowledged, re-subscribing after the broker lost the session, and the reconnect after a broker
/// restart (its time is printed, not asserted).
/// </summary>
public class MqttConnectionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static MqttConnectionOptions Options(int port, string clientId, string filter, bool cleanStart = false) => new()
    {
        Name = "the test broker",
        Endpoint = new MqttEndpoint("127.0.0.1", port),
        ClientId = clientId,
        CleanStart = cleanStart,
        KeepAlive = TimeSpan.FromSeconds(2),
        Subscriptions = [new MqttSubscription(filter, MqttQualityOfServiceLevel.AtLeastOnce)],
    };

    [Fact]
    public async Task Pubacks_go_out_in_arrival_order_whatever_order_the_user_acknowledges_in_and_only_after_it_does()
    {
        var port = MosquittoBroker.FreePort();
        using var server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder().WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port).WithPersistentSessions().Build());
        var pubacks = new ConcurrentQueue<string>();
        var pubackCount = new Counter();
        server.ClientAcknowledgedPublishPacketAsync += e =>
        {
            pubacks.Enqueue(e.PublishPacket.Topic);
            pubackCount.Increment();
            return Task.CompletedTask;
        };
        await server.StartAsync();

        var deliveries = new ConcurrentQueue<MqttDelivery>();
        var received = new Counter();
        await using var connection = new MqttConnection(Options(port, "ack-order", "t/#"), new TestOutputLogger(output, "mqtt"));
        connection.Received = d =>
        {
            deliveries.Enqueue(d);
            received.Increment();
            return Task.CompletedTask;
        };
        Assert.True(await connection.TryConnectAsync(CancellationToken.None), connection.LastFailure);

        foreach (var topic in new[] { "t/1", "t/2", "t/3" })
        {
            await server.InjectApplicationMessage(new InjectedMqttApplicationMessage(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("x").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build()));
        }

        await received.WaitForAsync(3, Bound, "three deliveries");
        var d = deliveries.ToArray();
        Assert.Equal(["t/1", "t/2", "t/3"], d.Select(x => x.Topic));

        // The effects of the later messages become durable first: nothing may be acknowledged to the broker yet.
        d[2].Acknowledge();
        d[1].Acknowledge();
        Assert.Empty(pubacks);

        d[0].Acknowledge();
        await pubackCount.WaitForAsync(3, Bound, "three PUBACKs");
        Assert.Equal(["t/1", "t/2", "t/3"], pubacks);
    }

    [Fact]
    public async Task A_message_not_acknowledged_before_the_connection_ends_is_delivered_again_on_the_next_one()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var first = new TaskCompletionSource<MqttDelivery>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (var connection = new MqttConnection(Options(broker.Port, "redelivery", "r/#"), new TestOutputLogger(output, "mqtt")))
        {
            connection.Received = d =>
            {
                first.TrySetResult(d); // never acknowledged: its effect never became durable
                return Task.CompletedTask;
            };
            Assert.True(await connection.TryConnectAsync(CancellationToken.None), connection.LastFailure);
            await PublishAsync(broker.Port, "r/press", "one");
            Assert.False((await first.Task.WaitAsync(Bound)).Duplicate);
            await connection.CloseAsync(withWill: false);
        }

        var again = new TaskCompletionSource<MqttDelivery>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var next = new MqttConnection(Options(broker.Port, "redelivery", "r/#"), new TestOutputLogger(output, "mqtt"));
        next.Received = d =>
        {
            again.TrySetResult(d);
            d.Acknowledge();
            return Task.CompletedTask;
        };
        Assert.True(await next.TryConnectAsync(CancellationToken.None), next.LastFailure);
        var redelivered = await again.Task.WaitAsync(Bound);
        Assert.Equal(("r/press", "one"), (redelivered.Topic, Encoding.UTF8.GetString(redelivered.Payload)));
        Assert.True(redelivered.Duplicate);
    }

    [Fact]
    public async Task After_a_broker_restart_that_lost_every_session_the_connection_is_back_and_subscribed_again()
    {
        await using var broker = await MosquittoBroker.StartAsync("persistence false");
        var got = new Counter();
        var connected = new Counter();
        await using var connection = new MqttConnection(Options(broker.Port, "resubscribe", "s/#"), new TestOutputLogger(output, "mqtt"));
        connection.Received = d =>
        {
            d.Acknowledge();
            got.Increment();
            return Task.CompletedTask;
        };
        connection.Connected += _ => connected.Increment();
        using var stop = new CancellationTokenSource();
        var running = connection.RunAsync(stop.Token);
        await connected.WaitForAsync(1, Bound, "connected");
        await PublishAsync(broker.Port, "s/1", "before");
        await got.WaitForAsync(1, Bound, "the message before the restart");

        await broker.StopAsync(kill: true); // a crash: no session survives
        await broker.StartAsync();
        var back = Stopwatch.StartNew();
        await connected.WaitForAsync(2, Bound, "connected again");
        output.WriteLine($"back {back.ElapsedMilliseconds} ms after the broker listened again (default cap {MqttConnectionOptions.DefaultReconnect.Max.TotalMilliseconds} ms)");
        Assert.False(connection.Session!.SessionPresent);

        await PublishAsync(broker.Port, "s/2", "after");
        await got.WaitForAsync(2, Bound, "the message after the restart: subscribed again");
        await stop.CancelAsync();
        await running;
    }

    private static async Task PublishAsync(int port, string topic, string payload)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        using var deadline = new CancellationTokenSource(Bound);
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("publisher-" + Guid.NewGuid().ToString("N")).Build(), deadline.Token);
        var result = await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), deadline.Token);
        Assert.True(result.IsSuccess);
        await client.DisconnectAsync(cancellationToken: deadline.Token);
    }
}
