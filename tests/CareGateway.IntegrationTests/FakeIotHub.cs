using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace CareGateway.IntegrationTests;

/// <summary>What a device sent in its CONNECT packet, as the server saw it.</summary>
public sealed record ConnectSeen(string ClientId, string? UserName, string? Password, MqttProtocolVersion ProtocolVersion, bool? CleanSession, string? ClientCertificateSubject = null);

/// <summary>A message as the server saw it.</summary>
public sealed record PublishSeen(string ClientId, string Topic, byte[] Payload, MqttQualityOfServiceLevel Qos);

/// <summary>
/// A stand-in for Azure IoT Hub's MQTT endpoint on loopback: MQTTnet's in-process server (it exposes the CONNECT
/// packet's client id, username, password and protocol version), plus a "backend" client that plays the hub's service
/// side on the hub's topics. It checks the wire format a device uses; it is not IoT Hub (no SAS validation by a hub,
/// no TLS here).
/// </summary>
public sealed class FakeIotHub : IAsyncDisposable
{
    private readonly MqttServer _server;
    private readonly IMqttClient _backend = new MqttClientFactory().CreateMqttClient();
    private readonly List<PublishSeen> _published = [];

    private FakeIotHub(int port, X509Certificate2? tlsCertificate, X509Certificate2? clientCa)
    {
        Port = port;
        var builder = new MqttServerOptionsBuilder().WithPersistentSessions();
        if (tlsCertificate is null)
        {
            builder = builder.WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(port);
        }
        else
        {
            // Like the hub: TLS only, and a client certificate is asked for and must chain to the device CA.
            PlainPort = MosquittoBroker.FreePort();
            builder = builder
                .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(PlainPort.Value)
                .WithEncryptedEndpoint().WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback).WithEncryptedEndpointPort(port)
                .WithEncryptionCertificate(tlsCertificate)
                .WithClientCertificate((_, certificate, _, _) => certificate is not null && clientCa is not null && ChainsTo(certificate, clientCa));
        }

        var options = builder.Build();
        _server = new MqttServerFactory().CreateMqttServer(options);
        _server.ValidatingConnectionAsync += e =>
        {
            if (e.ClientId != "backend")
            {
                Connects.Add(new ConnectSeen(e.ClientId, e.UserName, e.Password, e.ProtocolVersion, e.CleanSession, e.ClientCertificate?.Subject));
            }

            return Task.CompletedTask;
        };
        _server.InterceptingPublishAsync += e =>
        {
            if (e.ClientId != "backend")
            {
                lock (_published)
                {
                    _published.Add(new PublishSeen(e.ClientId, e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), e.ApplicationMessage.QualityOfServiceLevel));
                    Monitor.PulseAll(_published);
                }
            }

            return Task.CompletedTask;
        };
    }

    public int Port { get; }

    public BlockingCollection<ConnectSeen> Connects { get; } = [];


    /// <summary>With TLS, the plain port the backend uses (the device uses <see cref="Port"/>, TLS).</summary>
    public int? PlainPort { get; }

    public static async Task<FakeIotHub> StartAsync(X509Certificate2? tlsCertificate = null, X509Certificate2? clientCa = null)
    {
        var hub = new FakeIotHub(MosquittoBroker.FreePort(), tlsCertificate, clientCa);
        await hub._server.StartAsync();
        await hub._backend.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", hub.PlainPort ?? hub.Port).WithClientId("backend").Build());
        return hub;
    }

    /// <summary>Takes the oldest message from the device that matches and was not taken yet, waiting for it if need be.</summary>
    public PublishSeen Next(Func<PublishSeen, bool> match, TimeSpan bound) =>
        TryNext(match, bound) ?? throw new TimeoutException($"no matching message from the device within {bound}");

    /// <summary>As <see cref="Next"/>, but null when nothing matching came within the bound.</summary>
    public PublishSeen? TryNext(Func<PublishSeen, bool> match, TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        lock (_published)
        {
            while (true)
            {
                var index = _published.FindIndex(p => match(p));
                if (index >= 0)
                {
                    var seen = _published[index];
                    _published.RemoveAt(index);
                    return seen;
                }

                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_published, left))
                {
                    return null;
                }
            }
        }
    }

    public ConnectSeen NextConnect(TimeSpan bound) =>
        Connects.TryTake(out var seen, bound) ? seen : throw new TimeoutException($"no CONNECT within {bound}");

    /// <summary>The hub's service side sends to the device (cloud-to-device, method request, twin response).</summary>
    public async Task SendAsync(string topic, byte[] payload)
    {
        var result = await _backend.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        if (!result.IsSuccess)
        {
            throw new InvalidOperationException($"backend publish to {topic} failed: {result.ReasonCode}");
        }
    }

    private static bool ChainsTo(X509Certificate certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(presented);
    }

    public async ValueTask DisposeAsync()
    {
        await _backend.DisconnectAsync();
        _backend.Dispose();
        await _server.StopAsync();
        _server.Dispose();
        Connects.Dispose();
    }
}
