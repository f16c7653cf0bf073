using CareGateway.Uplink;

namespace CareGateway.Tests;

/// <summary>The uplink's settings: validation of the timers and TLS files, and the reconnect back-off.</summary>
public class UplinkSettingsTests
{
    private static GatewayConfig Valid() => ConfigLoader.Load(RepoFiles.PathOf("docs", "examples", "gateway.json"));

    [Fact]
    public void The_documented_example_sets_the_acknowledgement_timers_and_the_test_alarm()
    {
        var broker = Valid().Broker;
        Assert.Equal((60, 300, true, true, 24.0), (broker.ReceivedTimeoutSeconds, broker.AcceptedTimeoutSeconds, broker.EscalateByResend, broker.EscalateLocally, broker.TestAlarmIntervalHours));
        Assert.Null(broker.CentreSilentSeconds);
        Assert.Equal(new OutboxConfig { MaxMegabytes = 64, DeliveredRetentionDays = 30, ReserveMegabytes = 4 }, Valid().Outbox);
    }

    [Fact]
    public void Bad_outbox_settings_are_reported_with_their_path()
    {
        var config = Valid();
        config.Outbox = new OutboxConfig { MaxMegabytes = 0, DeliveredRetentionDays = 0, ReserveMegabytes = -1 };

        var errors = ConfigLoader.Validate(config);

        Assert.Contains(errors, e => e.StartsWith("$.outbox.maxMegabytes:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.outbox.deliveredRetentionDays:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.outbox.reserveMegabytes:", StringComparison.Ordinal));
    }

    [Fact]
    public void Bad_timer_and_tls_settings_are_reported_with_their_path()
    {
        var config = Valid();
        config.Broker.ReceivedTimeoutSeconds = 0;
        config.Broker.AcceptedTimeoutSeconds = -5;
        config.Broker.CentreSilentSeconds = 0;
        config.Broker.TestAlarmIntervalHours = -1;
        config.Broker.Tls = new TlsConfig { CaFile = "/etc/ca.pem", CertFile = "/etc/gw.pem" };

        var errors = ConfigLoader.Validate(config);

        Assert.Contains(errors, e => e.StartsWith("$.broker.receivedTimeoutSeconds:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.broker.acceptedTimeoutSeconds:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.broker.centreSilentSeconds:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.broker.testAlarmIntervalHours:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("$.broker.tls: certFile and keyFile go together", StringComparison.Ordinal));
    }

    [Fact]
    public void Reconnect_back_off_doubles_up_to_the_cap_and_each_wait_is_drawn_between_half_the_step_and_the_step()
    {
        var backoff = new CareGateway.Resilience.Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2));
        var steps = Enumerable.Range(1, 8).Select(backoff.Step).ToList();

        Assert.Equal([100, 200, 400, 800, 1600, 2000, 2000, 2000], steps.Select(s => s.TotalMilliseconds));
        foreach (var (s, failures) in steps.Select((s, i) => (s, i + 1)))
        {
            Assert.Equal(s / 2, backoff.Delay(failures, 0));
            Assert.InRange(backoff.Delay(failures, 0.999999), s - TimeSpan.FromMilliseconds(1), s);
            Assert.InRange(backoff.Delay(failures, 0.5), s / 2, s);
        }

        // The defaults of every connection: back within 2 s of a broker's return at worst, 0.78 s on average.
        var defaults = new UplinkOptions { GatewayId = "gw-1", Host = "h" }.Reconnect;
        Assert.Equal((TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2)), (defaults.Initial, defaults.Max));
        Assert.Equal(TimeSpan.FromSeconds(1), CareGateway.Sensors.Zigbee.Zigbee2MqttOptions.DefaultReconnect.Max);
    }
}
