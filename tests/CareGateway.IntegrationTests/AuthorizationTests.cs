using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using CareGateway.Protocol;
using CareGateway.Tests;
using MQTTnet;
using MQTTnet.Protocol;
using Xunit.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>
/// Per-gateway authorization with the ACL from docs/mosquitto/care-gateway.acl on a mutual-TLS listener (the centre
/// included): gateway A
/// cannot publish as gateway B, nor read B's acknowledgements. Mosquitto 2 drops an unauthorized publish (silently for
/// MQTT 3.1.1, with a reason code for MQTT 5; both are checked), so the test asserts on what the centre and B actually receive, and uses
/// a later message on the same path as the marker that anything forged would have arrived by then (no sleeping).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Mosquitto tests run on Linux
public class AuthorizationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Gateway_a_can_neither_publish_as_gateway_b_nor_read_bs_acknowledgements()
    {
        using var pki = await TestPki.CreateAsync();
        await pki.CaAsync("ca");
        await pki.IssueAsync("ca", "server", "localhost", server: true);
        var a = await pki.IssueAsync("ca", "gw-a", "gw-a", server: false);
        var b = await pki.IssueAsync("ca", "gw-b", "gw-b", server: false);
        var centreIdentity = await pki.IssueAsync("ca", "centre", "centre", server: false);
        var acl = pki.PathOf("care-gateway.acl");
        File.Copy(RepoFiles.PathOf("docs", "mosquitto", "care-gateway.acl"), acl);
        File.SetUnixFileMode(acl, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var tlsPort = MosquittoBroker.FreePort();
        await using var broker = await MosquittoBroker.StartAsync($"acl_file {acl}\n{pki.TlsListener(tlsPort, "ca", "server")}");
        // The centre too connects over mutual TLS; its certificate's common name 'centre' is the ACL's centre user.
        await using var centre = await CentreRecorder.StartAsync(broker, "centre-acl", port: tlsPort, tls: new CareGateway.Mqtt.MqttTlsOptions { CaFile = pki.PathOf("ca.pem"), CertFile = centreIdentity.Cert, KeyFile = centreIdentity.Key, TargetHost = "localhost" });

        await using var gatewayA = await Client.ConnectAsync("gw-a", tlsPort, a);
        await using var gatewayB = await Client.ConnectAsync("gw-b", tlsPort, b);
        Assert.True(await gatewayA.SubscribeAsync(Topics.Ack("gw-a")), "A may read its own acknowledgements");
        Assert.True(await gatewayB.SubscribeAsync(Topics.Ack("gw-b")), "B may read its own acknowledgements");
        var bAcksGranted = await gatewayA.SubscribeAsync(Topics.Ack("gw-b"));
        var bTreeGranted = await gatewayA.SubscribeAsync("care/v1/gw-b/#");
        output.WriteLine($"A's subscriptions to B's subtree granted by the broker: ack {bAcksGranted}, subtree {bTreeGranted}");

        // 1. A publishes an alarm as B, then one of its own. When the centre has A's own, the forged one would be there too.
        var forged = Alarm("gw-b", 1);
        var forgedResult = await gatewayA.PublishAsync(Topics.Alarm("gw-b"), ProtocolJson.Serialize(forged));
        output.WriteLine($"PUBACK for the forged alarm: {forgedResult}");
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, forgedResult);
        var own = Alarm("gw-a", 1);
        Assert.Equal(MqttClientPublishReasonCode.Success, await gatewayA.PublishAsync(Topics.Alarm("gw-a"), ProtocolJson.Serialize(own)));
        await centre.Distinct.WaitForAsync(1, Bound, "A's own alarm at the centre");
        centre.AssertExactly([own.AlarmId], "gw-a");

        // 2. The centre acknowledges an alarm of B, then one of A. B gets its own; A gets its own but never B's.
        await centre.Centre.AcknowledgeAsync("gw-b", "b-alarm-1", AckState.Accepted, "operator-1", null, Deadline());
        await centre.Centre.AcknowledgeAsync("gw-a", "a-marker-1", AckState.Accepted, "operator-1", null, Deadline());
        await gatewayB.WaitForAsync(m => m.Topic == Topics.Ack("gw-b") && m.Json.Contains("b-alarm-1", StringComparison.Ordinal));
        await gatewayA.WaitForAsync(m => m.Json.Contains("a-marker-1", StringComparison.Ordinal));
        Assert.DoesNotContain(gatewayA.Received, m => m.Topic.StartsWith("care/v1/gw-b/", StringComparison.Ordinal));

        // 3. A forges an acknowledgement for B (which would stop B re-sending a real alarm), then the centre sends B a marker.
        var forgedAck = new AckMessage { AlarmId = "b-alarm-2", GatewayId = "gw-b", State = AckState.Received, By = "not-the-centre", At = DateTimeOffset.UtcNow };
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, await gatewayA.PublishAsync(Topics.Ack("gw-b"), ProtocolJson.Serialize(forgedAck)));
        await centre.Centre.AcknowledgeAsync("gw-b", "b-marker-2", AckState.Received, "centre-acl", null, Deadline());
        await gatewayB.WaitForAsync(m => m.Json.Contains("b-marker-2", StringComparison.Ordinal));
        Assert.DoesNotContain(gatewayB.Received, m => m.Json.Contains("b-alarm-2", StringComparison.Ordinal));

        // 4. Over MQTT 3.1.1 the broker cannot say no: the forged publish looks accepted, and is dropped all the same.
        await using var gatewayA3 = await Client.ConnectAsync("gw-a", tlsPort, a, MQTTnet.Formatter.MqttProtocolVersion.V311);
        var forged3 = Alarm("gw-b", 2);
        Assert.Equal(MqttClientPublishReasonCode.Success, await gatewayA3.PublishAsync(Topics.Alarm("gw-b"), ProtocolJson.Serialize(forged3)));
        var own3 = Alarm("gw-a", 2);
        await gatewayA3.PublishAsync(Topics.Alarm("gw-a"), ProtocolJson.Serialize(own3));
        await centre.Distinct.WaitForAsync(2, Bound, "A's second own alarm at the centre");
        centre.AssertExactly([own.AlarmId, own3.AlarmId], "gw-a");
    }

    /// <summary>A bound of our own for every MQTT call: MQTTnet's default is the client's 10 s timeout, too short on a busy machine.</summary>
    private static CancellationToken Deadline() => new CancellationTokenSource(Bound).Token;

    private static AlarmMessage Alarm(string gatewayId, long seq) => new()
    {
        AlarmId = Guid.CreateVersion7().ToString(),
        GatewayId = gatewayId,
        Seq = seq,
        Type = AlarmType.Panic,
        Priority = AlarmPriority.Critical,
        VkpCode = "4.13",
        Triage = Triage.Red,
        State = AlarmState.Raised,
        RaisedAt = DateTimeOffset.UtcNow,
        SentAt = DateTimeOffset.UtcNow,
        Attempt = 1,
        Reason = "authorization test",
    };

    /// <summary>A bare MQTT 5 client with a gateway's certificate: it does exactly what the test says, nothing else.</summary>
    private sealed class Client : IAsyncDisposable
    {
        private readonly IMqttClient _client;
        private readonly ConcurrentQueue<(string Topic, string Json)> _received = new();
        private readonly Counter _count = new();

        private Client(IMqttClient client)
        {
            _client = client;
            _client.ApplicationMessageReceivedAsync += e =>
            {
                _received.Enqueue((e.ApplicationMessage.Topic, System.Text.Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray())));
                _count.Increment();
                return Task.CompletedTask;
            };
        }

        public IReadOnlyCollection<(string Topic, string Json)> Received => _received;

        public static MqttClientTlsOptions TlsWith((string Cert, string Key) identity)
        {
            using var pem = X509Certificate2.CreateFromPemFile(identity.Cert, identity.Key);
            var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            return new MqttClientTlsOptionsBuilder()
                .UseTls(true)
                .WithClientCertificates([certificate])
                .WithCertificateValidationHandler(_ => true) // the broker is the test's own; the gateway's pinning is tested in TlsTests
                .Build();
        }

        public static async Task<Client> ConnectAsync(string gatewayId, int port, (string Cert, string Key) identity, MQTTnet.Formatter.MqttProtocolVersion version = MQTTnet.Formatter.MqttProtocolVersion.V500)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            var options = new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", port)
                .WithClientId(gatewayId)
                .WithProtocolVersion(version)
                .WithTlsOptions(TlsWith(identity))
                .Build();
            using var deadline = new CancellationTokenSource(Bound);
            await client.ConnectAsync(options, deadline.Token);
            return new Client(client);
        }

        public async Task<bool> SubscribeAsync(string filter)
        {
            using var deadline = new CancellationTokenSource(Bound);
            var result = await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), deadline.Token);
            return result.Items.All(i => i.ResultCode <= MqttClientSubscribeResultCode.GrantedQoS2);
        }

        public async Task<MqttClientPublishReasonCode> PublishAsync(string topic, byte[] payload)
        {
            using var deadline = new CancellationTokenSource(Bound);
            var result = await _client.PublishAsync(
                new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(),
                deadline.Token);
            return result.ReasonCode;
        }

        public async Task WaitForAsync(Func<(string Topic, string Json), bool> match)
        {
            while (true)
            {
                var seen = _count.Value;
                if (_received.Any(match))
                {
                    return;
                }

                await _count.WaitForAsync(seen + 1, Bound, "the expected message");
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
    }
}
