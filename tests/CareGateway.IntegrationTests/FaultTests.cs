using Xunit.Abstractions;
using CareGateway.Protocol;
using CareGateway.Tests;
using CareGateway.Uplink;

namespace CareGateway.IntegrationTests;

/// <summary>
/// Faults on the path to the centre, against a real Mosquitto on loopback: whatever happens, every alarm the gateway
/// raised reaches the centre, and every copy of one alarm carries the same id (and the same seq, type and raisedAt).
/// Waits are on signals with a bound; nothing sleeps.
/// </summary>
public class FaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Alarms_raised_while_the_broker_is_down_all_arrive_once_it_is_back(bool crash)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreRecorder.StartAsync(broker);
        var gatewayId = crash ? "gw-fault-broker-kill" : "gw-fault-broker-stop";
        await using var gateway = new UplinkUnderTest(dir.Path, UplinkUnderTest.FastOptions(gatewayId, broker.Host, broker.Port), new TestOutputLogger(output, "uplink"));
        await gateway.Connects.WaitForAsync(1, Bound, "gateway connected");

        await gateway.RaiseAsync(40);
        await centre.Distinct.WaitForAsync(40, Bound, "alarms at the centre before the fault");

        // The broker goes away (SIGTERM: persistence saved; SIGKILL: whatever was not yet saved is gone). Alarms keep
        // being raised, and the gateway keeps trying to connect, while it is down.
        await gateway.RaiseAsync(10);
        await broker.StopAsync(kill: crash);
        await gateway.Losses.WaitForAsync(1, Bound, "gateway noticed the broker is gone");
        await gateway.RaiseAsync(60);
        var failed = gateway.FailedConnects.Value;
        await gateway.FailedConnects.WaitForAsync(failed + 2, Bound, "gateway retried while the broker was down");
        Assert.False(gateway.Uplink.IsConnected);
        Assert.True(gateway.Outbox.PendingCount >= 60, $"only {gateway.Outbox.PendingCount} alarms wait on the gateway");

        await broker.StartAsync();
        await gateway.RaiseAsync(20);
        await centre.Distinct.WaitForAsync(130, Bound, "alarms at the centre after the broker came back");
        await WaitForNoPendingAsync(gateway);

        centre.AssertExactly([.. gateway.Raised], gatewayId);
        Assert.Equal(130, gateway.Raised.Count);
        Assert.Equal(130, gateway.Outbox.LastSeq);
    }

    [Theory]
    [InlineData(TcpProxy.CutMode.Reset)]
    [InlineData(TcpProxy.CutMode.Blackhole)]
    public async Task Alarms_raised_while_the_network_path_is_cut_all_arrive_once_it_is_restored(TcpProxy.CutMode cut)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        using var dir = new TempDir();
        await using var centre = await CentreRecorder.StartAsync(broker);
        var gatewayId = $"gw-fault-net-{cut.ToString().ToLowerInvariant()}";
        await using var gateway = new UplinkUnderTest(dir.Path, UplinkUnderTest.FastOptions(gatewayId, "127.0.0.1", proxy.Port), new TestOutputLogger(output, "uplink"));
        await gateway.Connects.WaitForAsync(1, Bound, "gateway connected through the proxy");

        await gateway.RaiseAsync(30);
        await centre.Distinct.WaitForAsync(30, Bound, "alarms at the centre before the cut");

        proxy.Cut(cut);
        // Alarms raised right at the cut: some are published into the dead link and must be sent again.
        await gateway.RaiseAsync(10);
        await gateway.Losses.WaitForAsync(1, Bound, "gateway noticed the cut");
        await gateway.RaiseAsync(40);
        var failed = gateway.FailedConnects.Value;
        await gateway.FailedConnects.WaitForAsync(failed + 2, Bound, "gateway retried while the path was cut");
        Assert.False(gateway.Uplink.IsConnected);

        proxy.Restore();
        await gateway.RaiseAsync(20);
        await centre.Distinct.WaitForAsync(100, Bound, "alarms at the centre after the path was restored");
        await WaitForNoPendingAsync(gateway);

        centre.AssertExactly([.. gateway.Raised], gatewayId);
        Assert.True(gateway.Connects.Value >= 2, "the gateway should have reconnected");
    }

    [Fact]
    public async Task A_backlog_drains_most_urgent_first_and_each_alarm_says_how_long_it_waited()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var proxy = new TcpProxy(broker.Port);
        using var dir = new TempDir();
        await using var centre = await CentreRecorder.StartAsync(broker);
        var order = new System.Collections.Concurrent.ConcurrentQueue<AlarmMessage>();
        centre.Centre.AlarmCopyReceived += order.Enqueue;
        proxy.Cut(TcpProxy.CutMode.Reset);
        await using var gateway = new UplinkUnderTest(dir.Path, UplinkUnderTest.FastOptions("gw-fault-backlog", "127.0.0.1", proxy.Port), new TestOutputLogger(output, "uplink"));
        await gateway.FailedConnects.WaitForAsync(1, Bound, "gateway tried to connect");

        await gateway.RaiseAsync(200); // mixed priorities, oldest first
        proxy.Restore();
        await centre.Distinct.WaitForAsync(200, Bound, "the backlog at the centre");
        await WaitForNoPendingAsync(gateway);

        centre.AssertExactly([.. gateway.Raised], "gw-fault-backlog");
        var firstCopies = order.GroupBy(a => a.AlarmId).Select(g => g.First()).ToList();
        for (var i = 1; i < firstCopies.Count; i++)
        {
            var (before, after) = (firstCopies[i - 1], firstCopies[i]);
            Assert.True(
                before.Priority < after.Priority || (before.Priority == after.Priority && before.Seq < after.Seq),
                $"backlog out of order at {i}: {before.Priority}/{before.Seq} before {after.Priority}/{after.Seq}");
        }

        // Every alarm of the backlog carries its age: it was raised before the path came back and sent after.
        Assert.All(firstCopies, a => Assert.True(a.SentAt > a.RaisedAt, $"alarm {a.Seq} does not show that it waited"));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(0)]
    public async Task A_backlog_is_sent_several_at_a_time_but_never_beyond_what_the_broker_accepts_in_flight(int brokerInflight)
    {
        // Mosquitto announces max_inflight_messages as its Receive Maximum (0: none); more QoS 1 messages in flight than
        // that is a protocol error that ends the connection.
        await using var broker = await MosquittoBroker.StartAsync($"max_inflight_messages {brokerInflight}");
        await using var proxy = new TcpProxy(broker.Port);
        using var dir = new TempDir();
        await using var centre = await CentreRecorder.StartAsync(broker);
        proxy.Cut(TcpProxy.CutMode.Reset);
        var gatewayId = $"gw-fault-window-{brokerInflight}";
        await using var gateway = new UplinkUnderTest(dir.Path, UplinkUnderTest.FastOptions(gatewayId, "127.0.0.1", proxy.Port), new TestOutputLogger(output, "uplink"));
        await gateway.FailedConnects.WaitForAsync(1, Bound, "gateway tried to connect");
        var sent = new Counter();
        gateway.Uplink.AlarmSent += _ => sent.Increment();

        await gateway.RaiseAsync(150);
        proxy.Restore();
        await centre.Distinct.WaitForAsync(150, Bound, "the backlog at the centre");
        await WaitForNoPendingAsync(gateway);

        // The send of the last batch is recorded after its PUBACKs, which may be after the centre's 'received'.
        await sent.WaitForAsync(150, Bound, "every send recorded");
        centre.AssertExactly([.. gateway.Raised], gatewayId);
        Assert.Equal(brokerInflight == 0 ? Forwarder.MaxSendWindow : 1, gateway.Uplink.SendWindow);
        Assert.Equal(1, gateway.Connects.Value);
        Assert.Equal(0, gateway.Losses.Value);
        Assert.All(gateway.Outbox.All(), a => Assert.Equal(1, a.Attempts));
    }

    private static async Task WaitForNoPendingAsync(UplinkUnderTest gateway)
    {
        // The 'received' answers travel back on their own; wait for the outbox to record them all.
        var acks = new Counter();
        gateway.Uplink.AckReceived += (_, _) => acks.Increment();
        while (true)
        {
            var seen = acks.Value;
            if (gateway.Outbox.PendingCount == 0)
            {
                return;
            }

            await acks.WaitForAsync(seen + 1, Bound, $"'received' for the last {gateway.Outbox.PendingCount} alarms");
        }
    }
}
