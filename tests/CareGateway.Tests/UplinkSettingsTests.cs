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
    public void Reconnect_back_off_doubles_up_to_the_maximum_and_each_wait_is_jittered_within_it()
    {
        var min = TimeSpan.FromSeconds(1);
        var max = TimeSpan.FromSeconds(60);
        var step = min;
        var steps = new List<TimeSpan>();
        for (var i = 0; i < 9; i++)
        {
            steps.Add(step);
            step = MqttUplink.NextBackoff(step, max);
        }

        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60, 60], steps.Select(s => s.TotalSeconds));
        foreach (var s in steps)
        {
            Assert.Equal(TimeSpan.FromSeconds(0.5), MqttUplink.Jitter(s, min, 0));
            var top = MqttUplink.Jitter(s, min, 0.999999);
            Assert.InRange(top, s - TimeSpan.FromMilliseconds(1), s);
            Assert.InRange(MqttUplink.Jitter(s, min, 0.5), TimeSpan.FromSeconds(0.5), s);
        }
    }
}
