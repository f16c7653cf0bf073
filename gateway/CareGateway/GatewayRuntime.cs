using System.Device.Gpio;
using CareGateway.Core;
using CareGateway.Sensors;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>
/// One gateway, put together from its configuration: GPIO sensor inputs feed the rule runner, the rules raise alarms
/// into the durable outbox, and the uplink carries them to the centre. <c>run</c> and <c>demo</c> both use this.
/// </summary>
public sealed class GatewayRuntime : IAsyncDisposable
{
    private readonly List<GpioSensorInput> _inputs = [];
    private readonly TimeProvider _time;
    private readonly ILogger _log;

    public GatewayRuntime(GatewayConfig config, GpioController gpio, TimeProvider time, ILoggerFactory logs, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(logs);
        Config = config;
        _time = time;
        _log = logs.CreateLogger("gateway");
        Profile = ConfigLoader.ToProfile(config.CareProfile);
        Outbox = new SqliteOutbox(Path.Combine(config.DataDirectory, "outbox.db"), new OutboxPolicy
            {
                MaxBytes = config.Outbox.MaxMegabytes * 1024L * 1024,
                EmergencyGrowthBytes = Math.Max(1, config.Outbox.MaxMegabytes / 4) * 1024L * 1024,
                DeliveredRetention = TimeSpan.FromDays(config.Outbox.DeliveredRetentionDays),
                ReserveBytes = config.Outbox.ReserveMegabytes * 1024L * 1024,
            },
            logs.CreateLogger("outbox"));
        Raiser = new AlarmRaiser(Outbox, () => Profile);
        Rules = new RuleRunner(new RuleEngine(Profile, config.Sensors), Raiser, time, logs.CreateLogger("rules"));
        Uplink = new MqttUplink(
            new UplinkOptions
            {
                GatewayId = config.GatewayId,
                Host = config.Broker.Host,
                Port = config.Broker.Port,
                Username = config.Broker.Username,
                Password = password,
                Tls = config.Broker.Tls is { } tls ? new TlsOptions { CaFile = tls.CaFile, CertFile = tls.CertFile, KeyFile = tls.KeyFile } : null,
                HeartbeatInterval = TimeSpan.FromSeconds(config.Broker.HeartbeatSeconds),
                ResendAfter = TimeSpan.FromSeconds(config.Broker.ResendAfterSeconds),
                ReceivedTimeout = TimeSpan.FromSeconds(config.Broker.ReceivedTimeoutSeconds),
                AcceptedTimeout = TimeSpan.FromSeconds(config.Broker.AcceptedTimeoutSeconds),
                EscalateByResend = config.Broker.EscalateByResend,
                EscalateLocally = config.Broker.EscalateLocally,
                CentreSilentAfter = config.Broker.CentreSilentSeconds is { } silent ? TimeSpan.FromSeconds(silent) : null,
                TestAlarmInterval = config.Broker.TestAlarmIntervalHours > 0 ? TimeSpan.FromHours(config.Broker.TestAlarmIntervalHours) : null,
                SoftwareVersion = typeof(GatewayRuntime).Assembly.GetName().Version?.ToString(3),
            },
            Outbox,
            time,
            logs.CreateLogger("uplink"));
        Raiser.Stored += (_, _) => Uplink.NotifyNewAlarm();

        foreach (var sensor in config.Sensors.Where(s => s.Gpio is not null))
        {
            _inputs.Add(new GpioSensorInput(gpio, sensor, time, Rules.Post));
        }
    }

    public GatewayConfig Config { get; }

    public CareProfile Profile { get; }

    public SqliteOutbox Outbox { get; }

    public AlarmRaiser Raiser { get; }

    public RuleRunner Rules { get; }

    public MqttUplink Uplink { get; }

    /// <summary>Runs the rules and the uplink until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(ReportStoreRecoveryAsync(cancellationToken), Rules.RunAsync(cancellationToken), Uplink.RunAsync(cancellationToken));

    /// <summary>A store that had to be replaced at start is a fault the centre must hear about: a technical alarm.</summary>
    private async Task ReportStoreRecoveryAsync(CancellationToken cancellationToken)
    {
        if (Outbox.Recovery is { } recovery)
        {
            try
            {
                await Raiser.RaiseAsync(new AlarmRequest(Protocol.AlarmType.GatewayFault, null, null, $"Gateway self-check: {recovery.Describe()}", _time.GetUtcNow()), cancellationToken);
            }
            catch (OutboxFullException ex)
            {
                _log.LogCritical("Could not raise the alarm about the replaced alarm store: {Reason}", ex.Message);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var input in _inputs)
        {
            input.Dispose();
        }

        Rules.Dispose();
        await Uplink.DisposeAsync();
        Outbox.Dispose();
    }
}
