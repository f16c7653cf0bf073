using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using CareGateway.Core;
using CareGateway.Core.Commands;
using CareGateway.Protocol;
using CareGateway.Tests;
using CareGateway.Uplink;
using CareGateway.Uplink.IotHub;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace CareGateway.IntegrationTests;

/// <summary>
/// The IoT Hub transport's wire behaviour against a local broker standing in for the hub (see docs/iot-hub.md: nothing
/// here ran against a real IoT Hub).
/// </summary>
public class IotHubWireTests
{
    private const string Host = "care-hub.azure-devices.net";
    private const string DeviceId = "gw-hub-1";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly byte[] DeviceKey = SHA256.HashData("device key of gw-hub-1"u8);
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task The_device_connects_with_mqtt_311_its_device_id_the_hub_username_and_a_valid_sas_token_and_renews_it_before_expiry()
    {
        await using var hub = await FakeIotHub.StartAsync();
        await using var device = await Device.StartAsync(hub);

        var connect = hub.NextConnect(Bound);
        Assert.Equal(DeviceId, connect.ClientId);
        Assert.Equal($"{Host}/{DeviceId}/?api-version=2021-04-12", connect.UserName);
        Assert.Equal(MqttProtocolVersion.V311, connect.ProtocolVersion);
        Assert.False(connect.CleanSession ?? true);
        var se = AssertValidSasToken(connect.Password);
        Assert.Equal((T0 + TimeSpan.FromHours(1)).ToUnixTimeSeconds(), se);

        // After 80 % of the token's life (48 of 60 minutes) the device reconnects with a fresh token.
        device.Clock.Advance(TimeSpan.FromMinutes(47));
        var renewed = AdvanceUntil(device.Clock, TimeSpan.FromMinutes(1), () => hub.Connects.TryTake(out var c, TimeSpan.FromMilliseconds(50)) ? c : null);
        var renewedAt = device.Clock.GetUtcNow();
        var newExpiry = AssertValidSasToken(renewed.Password);
        Assert.InRange(newExpiry, (T0 + TimeSpan.FromMinutes(48) + TimeSpan.FromHours(1)).ToUnixTimeSeconds(), (renewedAt + TimeSpan.FromHours(1)).ToUnixTimeSeconds());
    }

    [Fact]
    public async Task An_alarm_is_a_device_to_cloud_message_with_properties_re_sent_until_the_centre_acknowledges_it_as_a_cloud_to_device_message()
    {
        await using var hub = await FakeIotHub.StartAsync();
        await using var device = await Device.StartAsync(hub);
        var online = hub.Next(p => p.Topic.Contains("messageType=status", StringComparison.Ordinal), Bound);
        Assert.True(ProtocolJson.TryParseStatus(online.Payload, out var status, out _) && status.State == GatewayState.Online);

        var alarm = await device.Raiser.RaiseAsync(new AlarmRequest(AlarmType.Panic, "panic-1", "bedroom", "Panic button pressed", T0), CancellationToken.None);
        device.Uplink.NotifyNewAlarm();

        var first = hub.Next(p => p.Topic.Contains("messageType=alarm", StringComparison.Ordinal), Bound);
        const string prefix = $"devices/{DeviceId}/messages/events/";
        Assert.StartsWith(prefix, first.Topic, StringComparison.Ordinal);
        var bag = IotHubTopics.DecodeBag(first.Topic[prefix.Length..]);
        Assert.Equal((alarm.AlarmId, "application/json", "utf-8", "panic", "critical", "1", "1"), (bag["$.mid"], bag["$.ct"], bag["$.ce"], bag["type"], bag["priority"], bag["seq"], bag["attempt"]));
        Assert.Contains("$.ct=application%2Fjson", first.Topic, StringComparison.Ordinal);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, first.Qos);
        SchemaValidation.AssertValid("alarm", Encoding.UTF8.GetString(first.Payload));

        // No 'received' yet: the same alarm again, next attempt. (Fake time moves in steps until the uplink's timer,
        // armed on its own thread after the first send, has seen it pass.)
        var second = AdvanceUntil(device.Clock, TimeSpan.FromSeconds(15), () => hub.TryNext(p => p.Topic.Contains("messageType=alarm", StringComparison.Ordinal), TimeSpan.FromMilliseconds(50)));
        Assert.True(ProtocolJson.TryParseAlarm(second.Payload, out var resent, out _));
        Assert.Equal(alarm.AlarmId, resent.AlarmId);
        Assert.True(resent.Attempt >= 2);

        // The centre's backend answers with a cloud-to-device message.
        var acked = new TaskCompletionSource<AckOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        device.Uplink.AckReceived += (_, outcome) => acked.TrySetResult(outcome);
        var ack = new AckMessage { AlarmId = alarm.AlarmId, GatewayId = DeviceId, State = AckState.Received, By = "centre-1", At = T0 };
        await hub.SendAsync($"devices/{DeviceId}/messages/devicebound/%24.mid=c2d-1&%24.to=%2Fdevices%2F{DeviceId}%2Fmessages%2FdeviceBound&messageType=ack", ProtocolJson.Serialize(ack));
        Assert.Equal(AckOutcome.Applied, await acked.Task.WaitAsync(Bound));
        Assert.Equal(0, device.Outbox.PendingCount);
    }

    [Fact]
    public async Task A_direct_method_test_alarm_is_answered_on_the_method_response_topic_and_the_test_alarm_goes_out()
    {
        await using var hub = await FakeIotHub.StartAsync();
        await using var device = await Device.StartAsync(hub);

        var command = new CommandMessage { CommandId = "m-1", GatewayId = DeviceId, Command = CommandKind.TestAlarm, SentAt = T0 };
        await hub.SendAsync("$iothub/methods/POST/test-alarm/?$rid=17", CommandJson.Serialize(command));

        var response = hub.Next(p => p.Topic.StartsWith("$iothub/methods/res/", StringComparison.Ordinal), Bound);
        Assert.Equal("$iothub/methods/res/200/?$rid=17", response.Topic);
        Assert.True(CommandJson.TryParseResult(response.Payload, out var result, out var error), error);
        Assert.Equal((CommandStatus.Ok, "m-1"), (result.Status, result.CommandId));
        var alarm = hub.Next(p => p.Topic.Contains("messageType=alarm", StringComparison.Ordinal), Bound);
        Assert.Contains("type=test", alarm.Topic, StringComparison.Ordinal);
        Assert.Contains($"$.mid={result.AlarmId}", alarm.Topic, StringComparison.Ordinal);

        // An unknown method, and a payload that is not a command, are refused with a status.
        await hub.SendAsync("$iothub/methods/POST/reboot/?$rid=18", "{}"u8.ToArray());
        Assert.Equal("$iothub/methods/res/404/?$rid=18", hub.Next(p => p.Topic.StartsWith("$iothub/methods/res/", StringComparison.Ordinal), Bound).Topic);
        await hub.SendAsync("$iothub/methods/POST/request-diagnostics/?$rid=19", CommandJson.Serialize(command with { CommandId = "m-2" }));
        var mismatch = hub.Next(p => p.Topic.StartsWith("$iothub/methods/res/", StringComparison.Ordinal), Bound);
        Assert.Equal("$iothub/methods/res/400/?$rid=19", mismatch.Topic);
    }

    [Fact]
    public async Task A_command_as_a_cloud_to_device_message_is_answered_with_a_device_to_cloud_command_result()
    {
        await using var hub = await FakeIotHub.StartAsync();
        await using var device = await Device.StartAsync(hub);

        var command = new CommandMessage { CommandId = "c2d-cmd-1", GatewayId = DeviceId, Command = CommandKind.TestAlarm, SentAt = T0 };
        await hub.SendAsync($"devices/{DeviceId}/messages/devicebound/%24.mid=c2d-9&messageType=command", CommandJson.Serialize(command));

        var sent = hub.Next(p => p.Topic.Contains("messageType=command-result", StringComparison.Ordinal), Bound);
        Assert.StartsWith($"devices/{DeviceId}/messages/events/", sent.Topic, StringComparison.Ordinal);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, sent.Qos);
        Assert.True(CommandJson.TryParseResult(sent.Payload, out var result, out var error), error);
        Assert.Equal((CommandStatus.Ok, "c2d-cmd-1"), (result.Status, result.CommandId));
        SchemaValidation.AssertValid("command-result", Encoding.UTF8.GetString(sent.Payload));
        Assert.Contains($"$.mid={result.AlarmId}", hub.Next(p => p.Topic.Contains("messageType=alarm", StringComparison.Ordinal), Bound).Topic, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_care_profile_comes_from_the_twins_desired_properties_a_bad_one_is_reported_rejected_and_a_patch_applies_a_good_one()
    {
        await using var hub = await FakeIotHub.StartAsync();
        await using var device = await Device.StartAsync(hub, withProfile: true);

        // On connect the device asks for its twin; the desired profile is invalid.
        var get = hub.Next(p => p.Topic.StartsWith("$iothub/twin/GET/", StringComparison.Ordinal), Bound);
        var rid = IotHubTopics.DecodeBag(get.Topic["$iothub/twin/GET/".Length..])["$rid"];
        await hub.SendAsync($"$iothub/twin/res/200/?$rid={rid}", Encoding.UTF8.GetBytes("""{"desired":{"careProfile":{"nightWindow":{"start":"25:00","end":"06:00"}},"$version":4},"reported":{"$version":1}}"""));

        var rejected = hub.Next(p => p.Topic.StartsWith("$iothub/twin/PATCH/properties/reported/?$rid=", StringComparison.Ordinal), Bound);
        using (var report = JsonDocument.Parse(rejected.Payload))
        {
            var profile = report.RootElement.GetProperty("careProfile");
            Assert.Equal("rejected", profile.GetProperty("status").GetString());
            Assert.Contains("$.careProfile.nightWindow.start", profile.GetProperty("reason").GetString(), StringComparison.Ordinal);
            Assert.Equal(4, profile.GetProperty("desiredVersion").GetInt64());
        }

        Assert.Equal("22:00-06:00", device.Profiles.Current.NightWindow.ToString());

        // The backend patches the desired properties; the device reads the whole twin again and applies it.
        await hub.SendAsync("$iothub/twin/PATCH/properties/desired/?$version=5", Encoding.UTF8.GetBytes("""{"careProfile":{"nightWindow":{"start":"21:00"}},"$version":5}"""));
        var again = hub.Next(p => p.Topic.StartsWith("$iothub/twin/GET/", StringComparison.Ordinal), Bound);
        var rid2 = IotHubTopics.DecodeBag(again.Topic["$iothub/twin/GET/".Length..])["$rid"];
        await hub.SendAsync($"$iothub/twin/res/200/?$rid={rid2}", Encoding.UTF8.GetBytes("""{"desired":{"careProfile":{"timeZone":"Europe/Oslo","nightWindow":{"start":"21:00","end":"06:00"}},"$version":5},"reported":{"$version":2}}"""));

        var applied = hub.Next(p => p.Topic.StartsWith("$iothub/twin/PATCH/properties/reported/?$rid=", StringComparison.Ordinal), Bound);
        using (var report = JsonDocument.Parse(applied.Payload))
        {
            Assert.Equal("applied", report.RootElement.GetProperty("careProfile").GetProperty("status").GetString());
        }

        Assert.Equal("21:00-06:00", device.Profiles.Current.NightWindow.ToString());
    }

    [Fact]
    public async Task With_an_x509_certificate_the_device_sends_the_username_and_no_password()
    {
        await using var hub = await FakeIotHub.StartAsync();
        await using var device = await Device.StartAsync(hub, x509: true);

        var connect = hub.NextConnect(Bound);
        Assert.Equal((DeviceId, $"{Host}/{DeviceId}/?api-version=2021-04-12"), (connect.ClientId, connect.UserName));
        Assert.True(string.IsNullOrEmpty(connect.Password));
    }

    [Fact]
    public async Task Over_a_real_mosquitto_an_alarm_goes_out_as_a_device_to_cloud_message_and_a_cloud_to_device_ack_stops_the_re_sends()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var backend = new MqttClientFactory().CreateMqttClient();
        var events = new System.Collections.Concurrent.BlockingCollection<(string Topic, byte[] Payload)>();
        backend.ApplicationMessageReceivedAsync += e =>
        {
            events.Add((e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray()));
            return Task.CompletedTask;
        };
        await backend.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId("hub-backend").Build());
        await backend.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter($"devices/{DeviceId}/messages/events/#", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        await using var device = await Device.StartAsync(broker.Port);

        var alarm = await device.Raiser.RaiseAsync(new AlarmRequest(AlarmType.Fall, "fall-1", "bathroom", "Fall detected", T0), CancellationToken.None);
        (string Topic, byte[] Payload) sent;
        do
        {
            Assert.True(events.TryTake(out sent, Bound), "no device-to-cloud alarm within the bound");
        }
        while (!sent.Topic.Contains("messageType=alarm", StringComparison.Ordinal));

        Assert.Contains($"$.mid={alarm.AlarmId}", sent.Topic, StringComparison.Ordinal);
        Assert.True(ProtocolJson.TryParseAlarm(sent.Payload, out var message, out var error), error);
        var acked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        device.Uplink.AckReceived += (_, _) => acked.TrySetResult();
        var ack = new AckMessage { AlarmId = message.AlarmId, GatewayId = DeviceId, State = AckState.Received, By = "centre-1", At = T0 };
        await backend.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"devices/{DeviceId}/messages/devicebound/messageType=ack")
            .WithPayload(ProtocolJson.Serialize(ack))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        await acked.Task.WaitAsync(Bound);

        Assert.Equal(0, device.Outbox.PendingCount);
        events.Dispose();
    }

    [Fact]
    public async Task With_x509_over_tls_the_device_trusts_the_hub_by_its_ca_file_and_presents_its_certificate_without_a_password()
    {
        using var dir = new TempDir();
        var certs = await IotHubTestCertificates.CreateAsync(dir.Path, Host, DeviceId);
        using var pem = X509Certificate2.CreateFromPemFile(certs.ServerCert, certs.ServerKey);
        using var serverCert = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        using var ca = X509CertificateLoader.LoadCertificateFromFile(certs.CaCert);
        await using var hub = await FakeIotHub.StartAsync(serverCert, ca);

        await using var device = await Device.StartAsync(hub.Port, options => options with
        {
            SharedAccessKey = null,
            CertFile = certs.DeviceCert,
            KeyFile = certs.DeviceKey,
            CaFile = certs.CaCert,
            UseTls = true,
        });

        var connect = hub.NextConnect(Bound);
        Assert.Equal($"CN={DeviceId}", connect.ClientCertificateSubject);
        Assert.Equal((DeviceId, $"{Host}/{DeviceId}/?api-version=2021-04-12"), (connect.ClientId, connect.UserName));
        Assert.True(string.IsNullOrEmpty(connect.Password));
        Assert.Equal(MqttProtocolVersion.V311, connect.ProtocolVersion);
    }

    /// <summary>
    /// Moves fake time on in steps until <paramref name="probe"/> sees the result: a timer the code under test arms on
    /// its own thread may not exist yet when the test first advances the clock. Bounded, and asserts no timing.
    /// </summary>
    private static T AdvanceUntil<T>(FakeTimeProvider clock, TimeSpan step, Func<T?> probe)
        where T : class
    {
        for (var i = 0; i < 200; i++)
        {
            clock.Advance(step);
            if (probe() is { } seen)
            {
                return seen;
            }
        }

        throw new TimeoutException("the expected effect of passing time did not come");
    }

    /// <summary>Checks the token's form and its signature, recomputed here from the device key; returns its expiry.</summary>
    private static long AssertValidSasToken(string? token)
    {
        Assert.NotNull(token);
        const string prefix = "SharedAccessSignature ";
        Assert.StartsWith(prefix, token, StringComparison.Ordinal);
        var fields = token[prefix.Length..].Split('&').Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        Assert.Equal(["sr", "sig", "se"], fields.Keys);
        Assert.Equal($"{Host}%2Fdevices%2F{DeviceId}", fields["sr"]);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(DeviceKey, Encoding.UTF8.GetBytes($"{fields["sr"]}\n{fields["se"]}")));
        Assert.Equal(expected, Uri.UnescapeDataString(fields["sig"]));
        return long.Parse(fields["se"], CultureInfo.InvariantCulture);
    }

    private sealed class Device : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly TempDir _dir = new();
        private Task _running = Task.CompletedTask;
        private Task _commands = Task.CompletedTask;

        private Device()
        {
        }

        public FakeTimeProvider Clock { get; } = new(T0);

        public SqliteOutbox Outbox { get; private set; } = null!;

        public AlarmRaiser Raiser { get; private set; } = null!;

        public Forwarder Uplink { get; private set; } = null!;

        public IotHubTransport Transport { get; private set; } = null!;

        public FileCareProfileStore Profiles { get; private set; } = null!;

        public CommandExecutor Executor { get; private set; } = null!;

        public static Task<Device> StartAsync(FakeIotHub hub, bool withProfile = false, bool x509 = false) => StartAsync(hub.Port, o => o, withProfile, x509);

        public static Task<Device> StartAsync(int port) => StartAsync(port, o => o);

        public static async Task<Device> StartAsync(int port, Func<IotHubOptions, IotHubOptions> adjust, bool withProfile = false, bool x509 = false)
        {
            var device = new Device();
            device.Outbox = new SqliteOutbox(device._dir.File("outbox.db"));
            device.Profiles = new FileCareProfileStore(device._dir.Path, new CareProfileConfig(), NullLogger.Instance);
            device.Raiser = new AlarmRaiser(device.Outbox, () => device.Profiles.Current);
            device.Transport = new IotHubTransport(
                adjust(new IotHubOptions
                {
                    GatewayId = DeviceId,
                    HostName = Host,
                    DeviceId = DeviceId,
                    SharedAccessKey = x509 ? null : Convert.ToBase64String(DeviceKey),
                    CertFile = x509 ? "/nonexistent/device.pem" : null, // TLS is off here, so the file is not read
                    KeyFile = x509 ? "/nonexistent/device.key" : null,
                    ConnectHost = "127.0.0.1",
                    Port = port,
                    UseTls = false,
                }),
                device.Clock,
                NullLogger.Instance);
            device.Uplink = new Forwarder(new ForwarderOptions { GatewayId = DeviceId, TestAlarmInterval = null }, device.Transport, device.Outbox, device.Raiser, device.Clock, NullLogger.Instance);
            device.Executor = new CommandExecutor(DeviceId, device.Raiser, device.Profiles, () => throw new NotSupportedException(), new InMemoryCommandJournal(), device.Clock, NullLogger.Instance);
            device.Raiser.Stored += (_, _) => device.Uplink.NotifyNewAlarm();
            device.Transport.AttachCommands(device.Executor);
            if (withProfile)
            {
                device.Transport.AttachCareProfile(device.Profiles);
            }

            var service = new CommandService(device.Uplink, device.Executor, NullLogger.Instance);
            var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            device.Uplink.Connected += () => connected.TrySetResult();
            device._running = device.Uplink.RunAsync(device._stop.Token);
            device._commands = service.RunAsync(device._stop.Token);
            await connected.Task.WaitAsync(Bound);
            return device;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _running.WaitAsync(Bound);
            try
            {
                await _commands.WaitAsync(Bound);
            }
            catch (OperationCanceledException)
            {
            }

            await Uplink.DisposeAsync();
            Executor.Dispose();
            Outbox.Dispose();
            _stop.Dispose();
            _dir.Dispose();
        }
    }
}
