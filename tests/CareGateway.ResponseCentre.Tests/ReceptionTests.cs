using System.Buffers;
using CareGateway.Core;
using CareGateway.IntegrationTests;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;
using MQTTnet;
using MQTTnet.Protocol;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>The service against a real Mosquitto, with the gateway's real uplink on the other end.</summary>
public sealed class ReceptionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_second_press_while_the_alarm_is_open_reaches_the_centre_as_a_repeat_and_alerts_the_operator_again()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port));
        await using var gateway = new Gateway("gw-rep-1", broker.Port, dir.File("outbox.db"));
        var key = new AlarmKey(gateway.Id, await gateway.RaiseAsync(AlarmType.Panic, "bedroom"));
        await gateway.WaitForAckAsync(key.AlarmId, AckState.Received);
        var kari = await centre.AddUserAsync("kari", Roles.Operator, "correct horse battery");
        await centre.Core.AcceptAsync(key, kari, default);
        await gateway.WaitForAckAsync(key.AlarmId, AckState.Accepted);
        var events = centre.Events.Subscribe();

        // Nobody has come: the resident presses again, twice. Each is a repeat of the open alarm, not a new one.
        Assert.Equal(new AlarmRepeat(key.AlarmId, 1), (await gateway.RepeatAsync(AlarmType.Panic, "bedroom")).Repeat);
        await gateway.WaitForAckAsync(key.AlarmId, AckState.Received, repeats: 1).WaitAsync(Bound);
        Assert.Equal(new AlarmRepeat(key.AlarmId, 2), (await gateway.RepeatAsync(AlarmType.Panic, "bedroom")).Repeat);
        await gateway.WaitForAckAsync(key.AlarmId, AckState.Received, repeats: 2).WaitAsync(Bound);

        var stored = (await centre.Store.GetAlarmAsync(key, default))!;
        Assert.Equal((2, HandlingStatus.Accepted), (stored.Repeats, stored.Status)); // still with its operator, who is alerted again
        Assert.NotNull(stored.RepeatedAt);
        Assert.Single(await centre.Store.OpenAlarmsAsync(default)); // one alarm, not three
        Assert.True(await ReadUntilAsync(events, "alarm"), "the consoles were not alerted again");
        var row = gateway.Outbox.Find(key.AlarmId)!;
        Assert.Equal((2, 2, true), (row.Repeats, row.RepeatsReceived, row.FullyReceived));
        Assert.Equal(0, gateway.Outbox.PendingCount);

        // Closed at the centre before the gateway heard of it, then pressed again: the alarm opens again.
        await centre.Core.CloseAsync(key, kari, null, CloseOutcome.Handled, default);
        await gateway.WaitForAckAsync(key.AlarmId, AckState.Closed);
        Assert.NotNull((await gateway.RepeatAsync(AlarmType.Panic, "bedroom")).Seq); // after the close: a new alarm
    }

    private static async Task<bool> ReadUntilAsync(System.Threading.Channels.Channel<string> events, string kind)
    {
        using var timeout = new CancellationTokenSource(Bound);
        try
        {
            while (await events.Reader.ReadAsync(timeout.Token) != kind)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task An_alarm_from_a_gateway_is_stored_and_the_gateway_outbox_records_received_then_accepted_and_closed()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port));
        await using var gateway = new Gateway("gw-rx-1", broker.Port, dir.File("outbox.db"));

        var id = await gateway.RaiseAsync(AlarmType.Fall, "bathroom");
        await gateway.WaitForAckAsync(id, AckState.Received);
        var stored = await centre.Store.GetAlarmAsync(new AlarmKey(gateway.Id, id), default);
        Assert.NotNull(stored);
        Assert.Equal((AlarmType.Fall, "bathroom", "gw-rx-1", 1L), (stored.Type, stored.Room, stored.GatewayId, stored.Seq));
        Assert.Equal(AckState.Received, gateway.Outbox.Find(id)!.Ack);

        var kari = await centre.AddUserAsync("kari", Roles.Operator, "correct horse battery");
        await centre.Core.AcceptAsync(new AlarmKey(gateway.Id, id), kari, default);
        await gateway.WaitForAckAsync(id, AckState.Accepted);
        await centre.Core.CloseAsync(new AlarmKey(gateway.Id, id), kari, "ok", CloseOutcome.Handled, default);
        await gateway.WaitForAckAsync(id, AckState.Closed);
        Assert.Equal(AckState.Closed, gateway.Outbox.Find(id)!.Ack);

        var gw = await centre.Store.GetGatewayAsync("gw-rx-1", default);
        Assert.Equal(GatewayState.Online, gw!.State);
        Assert.Equal("0.1.0-test", gw.SoftwareVersion);
    }

    /// <summary>
    /// Issue 19 finding 1: alarm ids were global, so a gateway that sent another home's id first had the real alarm
    /// counted as its copy, never stored, yet answered 'received' (its gateway stopped re-sending). Ids are per gateway now.
    /// </summary>
    [Fact]
    public async Task A_gateway_that_sends_another_homes_alarm_id_first_cannot_silence_that_alarm()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port));
        var stolen = Guid.CreateVersion7().ToString();

        // Gateway B (a raw client) publishes A's alarm id first, on its own topic, and is answered for it.
        var answeredToB = new TaskCompletionSource<AckMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var b = new MqttClientFactory().CreateMqttClient();
        b.ApplicationMessageReceivedAsync += e =>
        {
            if (ProtocolJson.TryParseAck(e.ApplicationMessage.Payload.ToArray(), out var ack, out _) && ack.AlarmId == stolen)
            {
                answeredToB.TrySetResult(ack);
            }

            return Task.CompletedTask;
        };
        await b.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("gw-thief").Build());
        await b.SubscribeAsync(Topics.Ack("gw-thief"), MqttQualityOfServiceLevel.AtLeastOnce);
        var forged = CentreCoreTests.Message(stolen, 1, gateway: "gw-thief", type: AlarmType.Panic);
        await b.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.Alarm("gw-thief"))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithPayload(ProtocolJson.Serialize(forged)).Build());
        Assert.Equal(AckState.Received, (await answeredToB.Task.WaitAsync(Bound)).State);

        // Then A's real alarm with that id: stored as A's own, shown in the queue, answered to A, and taken by an operator.
        await using var a = new Gateway("gw-victim", broker.Port, dir.File("outbox.db"));
        await a.RaiseAsync(AlarmType.Fall, "bathroom", id: stolen);
        await a.WaitForAckAsync(stolen, AckState.Received);
        var open = await centre.Store.OpenAlarmsAsync(default);
        var real = Assert.Single(open, x => x.GatewayId == "gw-victim");
        Assert.Equal((stolen, AlarmType.Fall, "bathroom", 1), (real.AlarmId, real.Type, real.Room, real.Copies));
        Assert.Equal(1, Assert.Single(await centre.Store.FindAlarmsAsync(stolen, default), x => x.GatewayId == "gw-thief").Copies);

        var kari = await centre.AddUserAsync("kari", Roles.Operator, "correct horse battery");
        Assert.Equal(OperatorResult.Done, await centre.Core.AcceptAsync(real.Key, kari, default));
        await a.WaitForAckAsync(stolen, AckState.Accepted);
        Assert.Equal(AckState.Accepted, a.Outbox.Find(stolen)!.Ack);
        Assert.Equal(HandlingStatus.Received, Assert.Single(await centre.Store.FindAlarmsAsync(stolen, default), x => x.GatewayId == "gw-thief").Status);
    }

    /// <summary>
    /// Issue 19 finding 10: the centre took payloads of any size off the broker and copied them before the 64 KiB check
    /// (3 x 50 MB raised its memory by 400 MB). It now announces an MQTT 5 Maximum Packet Size, so the broker drops
    /// an oversized message instead of sending it: the centre never sees it, and the next alarm is stored as usual.
    /// </summary>
    [Fact]
    public async Task An_oversized_message_is_never_delivered_to_the_centre_and_the_next_alarm_is_stored()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var log = new LogCapture();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port), log);
        var alarm = CentreCoreTests.Message(Guid.CreateVersion7().ToString(), 1, gateway: "gw-big", type: AlarmType.Panic);
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            if (ProtocolJson.TryParseAck(e.ApplicationMessage.Payload.ToArray(), out var ack, out _) && ack.AlarmId == alarm.AlarmId)
            {
                answered.TrySetResult();
            }

            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("gw-big").Build());
        await client.SubscribeAsync(Topics.Ack("gw-big"), MqttQualityOfServiceLevel.AtLeastOnce);

        // 1 MiB, then a real alarm on the same topic: the broker delivers in order, so once the alarm is answered the
        // big one would have been handled (and its rejection logged) had it reached the centre.
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.Alarm("gw-big"))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithPayload(new byte[1024 * 1024]).Build());
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.Alarm("gw-big"))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithPayload(ProtocolJson.Serialize(alarm)).Build());
        await answered.Task.WaitAsync(Bound);

        Assert.NotNull(await centre.Store.GetAlarmAsync(new AlarmKey("gw-big", alarm.AlarmId), default));
        Assert.DoesNotContain(log.Lines, l => l.Message.Contains("gw-big", StringComparison.Ordinal));
    }

    /// <summary>
    /// Issue 19 finding 9 with a real broker: 5,000 alarms from one gateway held up every other home. One gateway floods
    /// (its alarms queued at the broker ahead of the other's); the other gateway's alarm is still stored and answered,
    /// the flood is held to its burst, and it becomes ONE technical alarm for that gateway.
    /// </summary>
    [Fact]
    public async Task A_flood_from_one_gateway_does_not_hold_up_another_homes_alarm()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var settings = CentreHost.Settings(dir.File("centre.db"), broker.Port);
        settings["Centre:Intake:AlarmBurst"] = "10";
        settings["Centre:Intake:AlarmsPerMinute"] = "1";
        await using var centre = await CentreHost.StartAsync(settings);
        var flooded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = centre.Events.Subscribe();
        _ = Task.Run(async () =>
        {
            await foreach (var _ in subscription.Reader.ReadAllAsync())
            {
                if ((await centre.Store.OpenAlarmsAsync(default)).Any(a => a.Type == CentreAlarmType.AlarmFlood))
                {
                    flooded.TrySetResult();
                }
            }
        });

        using var flood = new MqttClientFactory().CreateMqttClient();
        await flood.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("gw-flood").Build());
        await Task.WhenAll(Enumerable.Range(1, 500).Select(seq => flood.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.Alarm("gw-flood"))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithPayload(ProtocolJson.Serialize(CentreCoreTests.Message(Guid.CreateVersion7().ToString(), seq, gateway: "gw-flood", type: AlarmType.Panic))).Build())));

        await using var calm = new Gateway("gw-calm", broker.Port, dir.File("outbox.db"));
        var id = await calm.RaiseAsync(AlarmType.Fall, "bathroom");
        await calm.WaitForAckAsync(id, AckState.Received);
        await flooded.Task.WaitAsync(Bound);
        centre.Events.Unsubscribe(subscription);

        Assert.NotNull(await centre.Store.GetAlarmAsync(new AlarmKey("gw-calm", id), default));
        var open = await centre.Store.OpenAlarmsAsync(default);
        Assert.InRange(open.Count(a => a.GatewayId == "gw-flood" && a.Origin == AlarmOrigin.Gateway), 10, 11); // the burst (and at most one a minute)
        Assert.Equal(("gw-flood", CentreAlarmType.AlarmFlood), Assert.Single(open, a => a.Origin == AlarmOrigin.Centre) is var t ? (t.GatewayId, t.Type) : default);
    }

    /// <summary>
    /// Issue 19 finding 15: a newline in a rejected alarm's <c>type</c> was logged as it came and forged a log line. The
    /// values a rejection quotes, and topics, are logged with control characters escaped.
    /// </summary>
    [Fact]
    public async Task A_newline_in_a_rejected_alarm_or_its_topic_cannot_forge_a_log_line()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var log = new LogCapture();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port), log);
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("gw-forger").Build());

        const string forged = "fall\ninfo: CareGateway.ResponseCentre.Service.Centre.CentreCore[0]\r\n      Alarm all clear";
        var json = ProtocolJson.Serialize(CentreCoreTests.Message(Guid.CreateVersion7().ToString(), 1, gateway: "gw-forger") with { Type = forged });
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.Alarm("gw-forger"))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithPayload(json).Build());
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("care/v1/gw\u2028forged/alarm")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithPayload("{}").Build());

        var rejected = await log.WaitForAsync(l => l.Contains("unknown alarm type", StringComparison.Ordinal), Bound);
        var ignored = await log.WaitForAsync(l => l.Contains("not a gateway topic", StringComparison.Ordinal), Bound);
        Assert.Contains("fall\\ninfo: CareGateway", rejected, StringComparison.Ordinal);
        Assert.Contains("gw\\u2028forged", ignored, StringComparison.Ordinal); // Mosquitto refuses C0 controls in topics, not U+2028
        Assert.All(log.Lines, l => Assert.DoesNotContain(l.Message, c => c is '\n' or '\r' or '\u2028'));
    }

    /// <summary>
    /// Issue 19 (transport): the centre's broker link had TLS with the machine's trust store only, no client certificate
    /// and no CA pinning. Now it pins the CA and presents its certificate, like the gateways, to a Mosquitto that
    /// requires client certificates; a gateway's alarm arrives through it and is answered.
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_centre_connects_with_its_client_certificate_and_the_pinned_ca_to_a_broker_that_requires_one()
    {
        using var pki = await TestPki.CreateAsync();
        var ca = await pki.CaAsync("ca");
        await pki.IssueAsync("ca", "server", "localhost", server: true);
        var (cert, key) = await pki.IssueAsync("ca", "centre", "centre", server: false);
        var tlsPort = MosquittoBroker.FreePort();
        await using var broker = await MosquittoBroker.StartAsync(pki.TlsListener(tlsPort, "ca", "server"));
        using var dir = new TempDir();
        var settings = CentreHost.Settings(dir.File("centre.db"), tlsPort);
        settings["Centre:Mqtt:CaFile"] = ca;
        settings["Centre:Mqtt:CertFile"] = cert;
        settings["Centre:Mqtt:KeyFile"] = key;
        settings["Centre:Mqtt:TlsServerName"] = "localhost";
        await using var centre = await CentreHost.StartAsync(settings); // waits until connected over mutual TLS
        await using var gateway = new Gateway("gw-tls-centre", broker.Port, dir.File("outbox.db")); // the broker's plain loopback listener

        var id = await gateway.RaiseAsync(AlarmType.Fall);
        await gateway.WaitForAckAsync(id, AckState.Received);
        Assert.NotNull(await centre.Store.GetAlarmAsync(new AlarmKey(gateway.Id, id), default));
    }

    [Fact]
    public async Task Two_instances_in_one_shared_subscription_group_store_each_alarm_once()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var db = dir.File("centre.db");
        await using var a = await CentreHost.StartAsync(CentreHost.Settings(db, broker.Port, "centre", "centre-a"));
        await using var b = await CentreHost.StartAsync(CentreHost.Settings(db, broker.Port, "centre", "centre-b"));
        await using var gateway = new Gateway("gw-rx-2", broker.Port, dir.File("outbox.db"));

        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            ids.Add(await gateway.RaiseAsync(AlarmType.Panic));
        }

        foreach (var id in ids)
        {
            await gateway.WaitForAckAsync(id, AckState.Received);
        }

        var received = gateway.Acks.Where(x => x.State == AckState.Received).Select(x => x.AlarmId).ToList();
        var open = await a.Store.OpenAlarmsAsync(default);
        Assert.Equal(ids.Order(), open.Select(x => x.AlarmId).Order());
        Assert.All(open, x => Assert.Equal(1, x.Copies));
        Assert.Equal(ids.Count, received.Distinct().Count());
    }

    [Fact]
    public async Task Alarms_from_several_gateways_at_once_are_each_stored_once_and_every_outbox_gets_received()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port));
        await ConcurrentGatewaysAsync(centre, broker.Port, dir);
    }

    /// <summary>Four real uplinks raise eight alarms each at once; every alarm is stored once and answered, in each gateway's seq order.</summary>
    internal static async Task ConcurrentGatewaysAsync(CentreHost centre, int brokerPort, TempDir dir)
    {
        var gateways = Enumerable.Range(1, 4).Select(g => new Gateway($"gw-many-{g}", brokerPort, dir.File($"outbox-{g}.db"))).ToList();
        try
        {
            var raised = await Task.WhenAll(gateways.Select(async g =>
            {
                var ids = new List<string>();
                for (var i = 0; i < 8; i++)
                {
                    ids.Add(await g.RaiseAsync(AlarmType.Panic));
                }

                return ids;
            }));

            for (var g = 0; g < gateways.Count; g++)
            {
                foreach (var id in raised[g])
                {
                    await gateways[g].WaitForAckAsync(id, AckState.Received);
                }

                var stored = new List<StoredAlarm>();
                foreach (var id in raised[g])
                {
                    stored.Add((await centre.Store.GetAlarmAsync(new AlarmKey(gateways[g].Id, id), default))!);
                }

                Assert.All(stored, a => Assert.Equal((gateways[g].Id, 1), (a.GatewayId, a.Copies)));
                Assert.Equal(Enumerable.Range(1, 8).Select(s => (long)s), stored.Select(a => a.Seq));
                Assert.All(raised[g], id => Assert.Equal(AckState.Received, gateways[g].Outbox.Find(id)!.Ack));
            }

            Assert.Equal(32, (await centre.Store.OpenAlarmsAsync(default)).Count);
        }
        finally
        {
            foreach (var g in gateways)
            {
                await g.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_gateway_that_drops_off_the_network_raises_a_technical_alarm_through_its_last_will()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port));
        var alarmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = centre.Events.Subscribe();
        _ = Task.Run(async () =>
        {
            await foreach (var kind in subscription.Reader.ReadAllAsync())
            {
                if (kind == "alarm")
                {
                    alarmed.TrySetResult();
                }
            }
        });

        // A gateway connection with its will, that then vanishes without saying goodbye.
        var since = DateTimeOffset.UtcNow;
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port).WithClientId("gw-will-1")
            .WithWillTopic(Topics.Status("gw-will-1")).WithWillRetain(true).WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillPayload(ProtocolJson.Serialize(new StatusMessage { GatewayId = "gw-will-1", State = GatewayState.Offline, Since = since }))
            .Build());
        await client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(Topics.Status("gw-will-1")).WithRetainFlag()
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithPayload(ProtocolJson.Serialize(new StatusMessage { GatewayId = "gw-will-1", State = GatewayState.Online, Since = since })).Build());
        client.Dispose(); // the socket closes without DISCONNECT: the broker publishes the will

        await alarmed.Task.WaitAsync(Bound);
        centre.Events.Unsubscribe(subscription);
        var alarm = Assert.Single(await centre.Store.OpenAlarmsAsync(default));
        Assert.Equal((CentreAlarmType.GatewayOffline, "gw-will-1"), (alarm.Type, alarm.GatewayId));
        Assert.Equal(GatewayState.Offline, (await centre.Store.GetGatewayAsync("gw-will-1", default))!.State);
    }
}
