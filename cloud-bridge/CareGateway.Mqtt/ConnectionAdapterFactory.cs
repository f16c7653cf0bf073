using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Packets;

namespace CareGateway.Mqtt;

/// <summary>
/// MQTTnet's own channel adapters, with two changes made where MQTTnet lets a user plug in: the CONNECT packet carries
/// the keep-alive the product wants while MQTTnet itself is told "no keep-alive" (so its keep-alive loop, which wakes
/// every 250 ms, never runs; <see cref="MqttConnection"/> pings once per period instead), and the current connection can
/// be aborted without a DISCONNECT packet (a drop that keeps the last will, also over MQTT 3.1.1).
/// </summary>
internal sealed class ConnectionAdapterFactory(TimeSpan keepAlive) : IMqttClientAdapterFactory
{
    private readonly MqttClientAdapterFactory _inner = new();
    private volatile Adapter? _current;

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        var adapter = new Adapter(_inner.CreateClientAdapter(options, packetInspector, logger), (ushort)Math.Clamp(keepAlive.TotalSeconds, 0, ushort.MaxValue));
        _current = adapter;
        return adapter;
    }

    /// <summary>Closes the socket of the current connection: the broker sees the connection lost and publishes the will.</summary>
    public async Task AbortAsync()
    {
        if (_current is { } adapter)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await adapter.Inner.DisconnectAsync(timeout.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // a socket that will not close cleanly is closed all the same by disposing it
            catch (Exception)
#pragma warning restore CA1031
            {
                adapter.Inner.Dispose();
            }
        }
    }

    private sealed class Adapter(IMqttChannelAdapter inner, ushort keepAliveSeconds) : IMqttChannelAdapter
    {
        public IMqttChannelAdapter Inner { get; } = inner;

        public long BytesReceived => Inner.BytesReceived;

        public long BytesSent => Inner.BytesSent;

        public X509Certificate2 ClientCertificate => Inner.ClientCertificate;

        public EndPoint RemoteEndPoint => Inner.RemoteEndPoint;

        public EndPoint LocalEndPoint => Inner.LocalEndPoint;

        public bool IsSecureConnection => Inner.IsSecureConnection;

        public MqttPacketFormatterAdapter PacketFormatterAdapter => Inner.PacketFormatterAdapter;

        public Task ConnectAsync(CancellationToken cancellationToken) => Inner.ConnectAsync(cancellationToken);

        public Task DisconnectAsync(CancellationToken cancellationToken) => Inner.DisconnectAsync(cancellationToken);

        public void Dispose() => Inner.Dispose();

        public Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken) => Inner.ReceivePacketAsync(cancellationToken);

        public void ResetStatistics() => Inner.ResetStatistics();

        public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
        {
            if (packet is MqttConnectPacket connect)
            {
                connect.KeepAlivePeriod = keepAliveSeconds;
            }

            return Inner.SendPacketAsync(packet, cancellationToken);
        }
    }
}
