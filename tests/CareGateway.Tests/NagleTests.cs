using MQTTnet;

namespace CareGateway.Tests;

/// <summary>
/// Nagle's algorithm would hold a small alarm back until the previous segment is acknowledged (up to the peer's delayed
/// ACK, tens of milliseconds). The uplink and the Zigbee client build their options with <c>WithTcpServer</c> and rely on
/// MQTTnet 5 turning Nagle off by default; this pins that default (docs/performance.md).
/// </summary>
public class NagleTests
{
    [Fact]
    public void MQTTnet_client_sockets_are_built_with_nagle_off()
    {
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", 1883).Build();

        var tcp = Assert.IsType<MqttClientTcpOptions>(options.ChannelOptions);
        Assert.True(tcp.NoDelay);
    }
}
