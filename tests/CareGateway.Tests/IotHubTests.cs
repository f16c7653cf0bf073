using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CareGateway.Protocol;
using CareGateway.Uplink.IotHub;

namespace CareGateway.Tests;

public class IotHubTests
{
    [Fact]
    public void The_sas_token_matches_the_published_vector_of_the_azure_iot_node_sdk()
    {
        // Published test vector: Azure/azure-iot-sdk-node, common/core/test/_shared_access_signature_test.js,
        // "does not include the skn segment if the skn property wasn't defined":
        //   SharedAccessSignature.create('uri', null, Buffer.from('password').toString('base64'), 12345)
        //   -> 'SharedAccessSignature sr=uri&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&se=12345'
        var key = SasToken.DecodeKey(Convert.ToBase64String("password"u8.ToArray()));

        var token = SasToken.Create("uri", key, 12345);

        Assert.Equal("SharedAccessSignature sr=uri&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&se=12345", token);
    }

    [Fact]
    public async Task A_device_sas_token_signs_the_url_encoded_resource_and_expiry_as_openssl_computes_it()
    {
        // No published vector with a device resource URI was found, so the signature is checked against an
        // independent computation: openssl's HMAC-SHA256 over "{url-encoded resource}\n{expiry}" with the decoded key.
        var keyBytes = Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + 3)).ToArray();
        var expiry = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

        var token = SasToken.ForDevice("care-hub.azure-devices.net", "gw-0042", keyBytes, expiry);

        var se = expiry.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        const string sr = "care-hub.azure-devices.net%2Fdevices%2Fgw-0042";
        var fromOpenssl = await OpensslHmacBase64(Convert.ToHexString(keyBytes), $"{sr}\n{se}");
        Assert.Equal($"SharedAccessSignature sr={sr}&sig={Uri.EscapeDataString(fromOpenssl)}&se={se}", token);
        Assert.Equal("1795514400", se); // date -u -d @1795514400: Tue Nov 24 10:00:00 UTC 2026
    }

    [Fact]
    public void A_bad_device_key_is_reported_without_repeating_it()
    {
        var ex = Assert.Throws<FormatException>(() => SasToken.DecodeKey("not*base64!secret"));
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_username_names_the_hub_the_device_and_the_api_version()
    {
        Assert.Equal("care-hub.azure-devices.net/gw-0042/?api-version=2021-04-12", IotHubTopics.Username("care-hub.azure-devices.net", "gw-0042"));
    }

    [Fact]
    public void An_alarm_goes_to_the_events_topic_with_a_url_encoded_property_bag()
    {
        var alarm = new AlarmMessage
        {
            AlarmId = "019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12",
            GatewayId = "gw-0042",
            Seq = 17,
            Type = AlarmType.BedExit,
            Priority = AlarmPriority.Medium,
            VkpCode = "4.2",
            Triage = Triage.Yellow,
            State = AlarmState.Raised,
            RaisedAt = DateTimeOffset.UnixEpoch,
            SentAt = DateTimeOffset.UnixEpoch,
            Attempt = 2,
            Reason = "r",
        };

        var topic = IotHubTopics.Events("gw-0042", IotHubTransport.AlarmProperties(alarm));

        Assert.Equal(
            "devices/gw-0042/messages/events/$.mid=019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12&$.ct=application%2Fjson&$.ce=utf-8&messageType=alarm&alarmId=019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12&seq=17&type=bed-exit&priority=medium&attempt=2",
            topic);
        var bag = IotHubTopics.DecodeBag(topic["devices/gw-0042/messages/events/".Length..]);
        Assert.Equal(("application/json", "bed-exit", "2"), (bag["$.ct"], bag["type"], bag["attempt"]));
    }

    [Theory]
    [InlineData("$iothub/methods/POST/test-alarm/?$rid=1a", true, "test-alarm", "1a")]
    [InlineData("$iothub/methods/POST/request-diagnostics/?$rid=42", true, "request-diagnostics", "42")]
    [InlineData("$iothub/methods/POST/test-alarm/", false, "", "")]
    [InlineData("$iothub/twin/res/200/?$rid=1", false, "", "")]
    public void Direct_method_topics_parse(string topic, bool ok, string method, string rid)
    {
        Assert.Equal(ok, IotHubTopics.TryParseMethod(topic, out var m, out var r));
        if (ok)
        {
            Assert.Equal((method, rid), (m, r));
        }
    }

    [Theory]
    [InlineData("$iothub/twin/res/200/?$rid=3", true, 200, "3")]
    [InlineData("$iothub/twin/res/204/?$rid=4&$version=9", true, 204, "4")]
    [InlineData("$iothub/twin/res/x/?$rid=4", false, 0, "")]
    public void Twin_response_topics_parse(string topic, bool ok, int status, string rid)
    {
        Assert.Equal(ok, IotHubTopics.TryParseTwinResponse(topic, out var s, out var r));
        if (ok)
        {
            Assert.Equal((status, rid), (s, r));
        }
    }

    [Fact]
    public void Response_and_request_topics_are_the_documented_ones()
    {
        Assert.Equal("$iothub/methods/res/200/?$rid=7", IotHubTopics.MethodResponse(200, "7"));
        Assert.Equal("$iothub/twin/GET/?$rid=1", IotHubTopics.TwinGet("1"));
        Assert.Equal("$iothub/twin/PATCH/properties/reported/?$rid=2", IotHubTopics.TwinReportedPatch("2"));
        Assert.Equal("devices/gw-1/messages/devicebound/#", IotHubTopics.DeviceBoundFilter("gw-1"));
    }

    [Fact]
    public void The_documented_iot_hub_configuration_is_valid_and_selects_the_hub()
    {
        var config = ConfigLoader.Load(RepoFiles.PathOf("docs", "examples", "gateway-iothub.json"));

        Assert.NotNull(config.IotHub);
        var options = GatewayRuntime.ToIotHubOptions(config, "a2V5");
        Assert.Equal(("care-hub.azure-devices.net", "gw-0042", 8883, true), (options.HostName, options.DeviceId, options.Port, options.UseTls));
        Assert.Equal(TimeSpan.FromMinutes(60), options.TokenLifetime);
    }

    [Theory]
    [InlineData("\"sharedAccessKeyFile\": \"/k\"", "", "$.iotHub: name either sharedAccessKeyFile")]
    [InlineData("\"sharedAccessKeyFile\": \"/k\"", "\"sharedAccessKeyFile\": \"/k\", \"certFile\": \"/c\", \"keyFile\": \"/k2\"", "$.iotHub: name either")]
    [InlineData("\"sharedAccessKeyFile\": \"/k\"", "\"certFile\": \"/c\"", "$.iotHub.keyFile: X.509 authentication needs both")]
    [InlineData("\"hostName\": \"care-hub.azure-devices.net\"", "\"hostName\": \"\"", "$.iotHub.hostName")]
    [InlineData("\"hostName\": \"care-hub.azure-devices.net\"", "\"hostName\": \"h\", \"deviceId\": \"a/b\"", "$.iotHub.deviceId: 'a/b'")]
    [InlineData("\"hostName\": \"care-hub.azure-devices.net\"", "\"hostName\": \"h\", \"tokenLifetimeMinutes\": 1", "$.iotHub.tokenLifetimeMinutes")]
    public void A_bad_iot_hub_section_is_reported_with_its_path(string find, string replace, string expected)
    {
        const string json = """
            {
              "gatewayId": "gw-1",
              "dataDirectory": "/tmp/x",
              "iotHub": { "hostName": "care-hub.azure-devices.net", "sharedAccessKeyFile": "/k" },
              "board": { "driver": "simulated" }
            }
            """;
        Assert.NotNull(ConfigLoader.Parse(json, "ok.json").IotHub); // no broker section needed with a hub

        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(json.Replace(find, replace, StringComparison.Ordinal).Replace("{ ,", "{", StringComparison.Ordinal).Replace(", }", " }", StringComparison.Ordinal), "test.json"));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    private static async Task<string> OpensslHmacBase64(string hexKey, string data)
    {
        var info = new ProcessStartInfo("openssl", ["dgst", "-sha256", "-mac", "HMAC", "-macopt", $"hexkey:{hexKey}", "-binary"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        await process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(data));
        process.StandardInput.Close();
        using var output = new MemoryStream();
        await process.StandardOutput.BaseStream.CopyToAsync(output);
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        var mac = output.ToArray();
        Assert.Equal(32, mac.Length);
        Assert.Equal(HMACSHA256.HashData(Convert.FromHexString(hexKey), Encoding.UTF8.GetBytes(data)), mac); // and .NET agrees
        return Convert.ToBase64String(mac);
    }
}

public class IotHubSelectionTests
{
    [Fact]
    public async Task An_iot_hub_section_selects_the_hub_uplink_for_alarms_commands_and_diagnostics()
    {
        using var dir = new TempDir();
        await File.WriteAllTextAsync(dir.File("device-key"), Convert.ToBase64String(new byte[32]) + "\n");
        var config = new GatewayConfig
        {
            GatewayId = "gw-1",
            DataDirectory = dir.Path,
            IotHub = new IotHubConfig { HostName = "care-hub.azure-devices.net", SharedAccessKeyFile = dir.File("device-key") },
            Board = new BoardConfig { Driver = BoardDriver.Simulated },
        };
        Assert.Empty(ConfigLoader.Validate(config));
        using var gpio = new System.Device.Gpio.GpioController(new Hardware.SimulatedBoard());

        await using var runtime = new GatewayRuntime(config, gpio, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        Assert.IsType<IotHubTransport>(runtime.Uplink.Transport);
        Assert.Null(runtime.MqttTransport);
        var diagnostics = runtime.Diagnose(TimeProvider.System);
        Assert.Equal(("iot-hub", "disconnected", 0), (diagnostics.Transport, diagnostics.Connection, diagnostics.SensorCount));
    }

    [Fact]
    public async Task A_missing_device_key_file_is_a_clear_configuration_error()
    {
        using var dir = new TempDir();
        var config = new GatewayConfig
        {
            GatewayId = "gw-1",
            DataDirectory = dir.Path,
            IotHub = new IotHubConfig { HostName = "h.azure-devices.net", SharedAccessKeyFile = dir.File("missing") },
        };
        using var gpio = new System.Device.Gpio.GpioController(new Hardware.SimulatedBoard());

        var ex = Assert.Throws<ConfigException>(() => new GatewayRuntime(config, gpio, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));

        Assert.Contains("$.iotHub.sharedAccessKeyFile: cannot read the device key", ex.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }
}
