using System.Device.Gpio;
using CareGateway.Core;
using CareGateway.Hardware;
using CareGateway.Sensors;
using CareGateway.Sensors.Zigbee;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>
/// One gateway, put together from its configuration: GPIO sensor inputs feed the rule runner, the rules raise alarms
/// into the durable outbox, and the uplink carries them to the centre. <c>run</c> and <c>demo</c> both use this.
/// </summary>
public sealed partial class GatewayRuntime : IAsyncDisposable
{
    private readonly List<GpioSensorInput> _inputs = [];
    private readonly IPreAlarmSignal _preAlarm;
    private readonly TimeProvider _time;
    private readonly ILogger _log;

    /// <param name="config">The validated configuration.</param>
    /// <param name="gpio">The board's GPIO; null when nothing is wired to it (no GPIO sensors, buzzer or LEDs): then no GPIO driver is needed.</param>
    /// <param name="time">The clock of every timer.</param>
    /// <param name="logs">Where the parts log.</param>
    /// <param name="password">The centre broker's password, read from its file.</param>
    public GatewayRuntime(GatewayConfig config, GpioController? gpio, TimeProvider time, ILoggerFactory logs, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(logs);
        Config = config;
        _time = time;
        _log = logs.CreateLogger("gateway");
        ProfileStore = new FileCareProfileStore(config.DataDirectory, config.CareProfile, logs.CreateLogger("profile"));
        Profile = ProfileStore.Current;
        if (gpio is null && NeedsGpio(config))
        {
            throw new ArgumentNullException(nameof(gpio), "This configuration wires sensors or outputs to GPIO: the gateway needs the board's GPIO.");
        }

        Indicator = new GpioAlarmIndicator(
            gpio,
            config.Board.Buzzer is { } buzzer ? ToOutput(buzzer) : null,
            config.Board.Leds.Select(led => new LedLine(led.Name ?? string.Empty, ToOutput(led))));
        Outputs = new LocalOutputs(Indicator);
        _preAlarm = new IndicatorPreAlarmSignal(Outputs, new LoggingPreAlarmSignal(logs.CreateLogger("pre-alarm")));
        Outbox = new SqliteOutbox(Path.Combine(config.DataDirectory, "outbox.db"), new OutboxPolicy
            {
                MaxBytes = config.Outbox.MaxMegabytes * 1024L * 1024,
                EmergencyGrowthBytes = Math.Max(1, config.Outbox.MaxMegabytes / 4) * 1024L * 1024,
                DeliveredRetention = TimeSpan.FromDays(config.Outbox.DeliveredRetentionDays),
                ReserveBytes = config.Outbox.ReserveMegabytes * 1024L * 1024,
            },
            logs.CreateLogger("outbox"));
        Raiser = new AlarmRaiser(Outbox, () => Profile);
        Rules = new RuleRunner(
            CreateEngine(Profile),
            Raiser,
            time,
            logs.CreateLogger("rules"),
            new FileRuleStateStore(Path.Combine(config.DataDirectory, "rules-state.json"), logs.CreateLogger("rules"), () => Outbox.IsShedding));
        var uplinkLog = logs.CreateLogger("uplink");
        var indicator = new BoardWarningIndicator(Outputs, new LoggingIndicator(uplinkLog));
        MqttTransport = config.IotHub is not null ? null : new CareMqttTransport(
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
                KeepAlive = TimeSpan.FromSeconds(config.Broker.KeepAliveSeconds),
                ReconnectMin = TimeSpan.FromMilliseconds(config.Broker.ReconnectMinMilliseconds),
                ReconnectMax = TimeSpan.FromMilliseconds(config.Broker.ReconnectMaxMilliseconds),
                SoftwareVersion = SoftwareVersion,
            },
            time,
            uplinkLog);
        IUplinkTransport transport = (IUplinkTransport?)MqttTransport ?? CreateIotHubTransport(config, time, logs);
        Uplink = new Forwarder(ForwarderOptionsOf(config), transport, Outbox, Raiser, time, uplinkLog, indicator);
        Raiser.Stored += (_, _) => Uplink.NotifyNewAlarm();
        Raiser.Repeated += (_, _) => Uplink.NotifyNewAlarm(); // a repeat is due for sending at once, like a new alarm
        Help = new HelpOnTheWay(Outputs, Outbox, time, logs.CreateLogger("help"));
        Help.Restore();
        Uplink.AckReceived += Help.OnAck;
        RecentEvents = new RecentSensorEvents(time);
        Rules.EventSeen += RecentEvents.Add;
        (Executor, Commands, CommandJournal) = CreateCommands(config, time, logs);
        Health = new SensorHealthMonitor(config.Sensors, time, Rules.Post);
        // Retained sensor status needs the centre's broker; over IoT Hub it is not published (yet).
        SensorStatus = MqttTransport is null ? null : new SensorStatusPublisher(config.GatewayId, Health, MqttTransport, time, logs.CreateLogger("sensor-status"));
        if (config.Zigbee is { } zigbee && config.Sensors.Any(s => s.Zigbee is not null))
        {
            var mapper = new Zigbee2MqttMapper(zigbee.BaseTopic, config.Sensors, time, logs.CreateLogger("zigbee"));
            Zigbee = new Zigbee2MqttClient(
                new Zigbee2MqttOptions
                {
                    Host = zigbee.Broker.Host,
                    Port = zigbee.Broker.Port,
                    ClientId = config.GatewayId + "-zigbee",
                    Username = zigbee.Broker.Username,
                    Password = zigbee.Broker.PasswordFile is { } file ? File.ReadAllText(file).Trim() : null,
                    KeepAlive = TimeSpan.FromSeconds(zigbee.Broker.KeepAliveSeconds),
                    Reconnect = new Resilience.Backoff(TimeSpan.FromMilliseconds(zigbee.Broker.ReconnectMinMilliseconds), TimeSpan.FromMilliseconds(zigbee.Broker.ReconnectMaxMilliseconds)),
                },
                mapper,
                DispatchDurable,
                time,
                logs.CreateLogger("zigbee"));
        }

        foreach (var sensor in config.Sensors.Where(s => s.Gpio is not null))
        {
            // A header pin becomes its GPIO line through the board profile (the config was validated against it).
            var resolved = sensor with { Gpio = sensor.Gpio! with { Line = SensorConfigValidation.ResolveLine(sensor.Gpio.Line, sensor.Gpio.HeaderPin) } };
            var input = new GpioSensorInput(gpio!, resolved, time, Dispatch);
            _inputs.Add(input);
            Health.Observe(new SensorEvent(sensor.Id, sensor.Kind, sensor.Room, input.Active, time.GetUtcNow(), Type: SensorEventType.Heard));
        }
    }

    /// <summary>The buzzer and LEDs, shared by the pre-alarm and the uplink's warnings.</summary>
    public LocalOutputs Outputs { get; }

    /// <summary>The buzzer and LEDs of the local pre-alarm.</summary>
    public IAlarmIndicator Indicator { get; }

    /// <summary>Per-sensor state and health (last seen, battery, link quality, supervision).</summary>
    public SensorHealthMonitor Health { get; }

    /// <summary>Publishes <see cref="Health"/> retained to the centre.</summary>
    public SensorStatusPublisher? SensorStatus { get; }

    /// <summary>The zigbee2mqtt connection, when Zigbee sensors are declared.</summary>
    public Zigbee2MqttClient? Zigbee { get; }

    public GatewayConfig Config { get; }

    /// <summary>The care profile in use; the centre may replace it (<see cref="ProfileStore"/>).</summary>
    public CareProfile Profile { get; private set; }

    public SqliteOutbox Outbox { get; }

    public AlarmRaiser Raiser { get; }

    public RuleRunner Rules { get; }

    /// <summary>Store-and-forward to the centre, over the transport the configuration selects (the centre's broker, or Azure IoT Hub).</summary>
    public Forwarder Uplink { get; }

    /// <summary>Shows the resident that help is on the way once an operator has accepted the alarm.</summary>
    public HelpOnTheWay Help { get; }

    /// <summary>The care/v1 transport to the centre's broker; null when the configuration names an IoT Hub.</summary>
    public CareMqttTransport? MqttTransport { get; }

    /// <summary>Whether a configuration wires anything to GPIO (sensors, buzzer, LEDs); without, no GPIO driver is opened.</summary>
    public static bool NeedsGpio(GatewayConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Sensors.Any(s => s.Gpio is not null) || config.Board.Buzzer is not null || config.Board.Leds.Count > 0;
    }

    /// <summary>
    /// The next stop hands over to a gateway started at once on a changed configuration: the centre's connection
    /// ends without <c>offline</c> (docs/configuration.md, "Changes while running").
    /// </summary>
    public void PrepareHandover() => Uplink.PrepareHandover();

    private static ForwarderOptions ForwarderOptionsOf(GatewayConfig config) => new()
    {
        GatewayId = config.GatewayId,
        HeartbeatInterval = TimeSpan.FromSeconds(config.Broker.HeartbeatSeconds),
        ResendAfter = TimeSpan.FromSeconds(config.Broker.ResendAfterSeconds),
        ReceivedTimeout = TimeSpan.FromSeconds(config.Broker.ReceivedTimeoutSeconds),
        AcceptedTimeout = TimeSpan.FromSeconds(config.Broker.AcceptedTimeoutSeconds),
        EscalateByResend = config.Broker.EscalateByResend,
        EscalateLocally = config.Broker.EscalateLocally,
        CentreSilentAfter = config.Broker.CentreSilentSeconds is { } silent ? TimeSpan.FromSeconds(silent) : null,
        TestAlarmInterval = config.Broker.TestAlarmIntervalHours > 0 ? TimeSpan.FromHours(config.Broker.TestAlarmIntervalHours) : null,
        SoftwareVersion = SoftwareVersion,
    };

    /// <summary>The rules for a care profile, with this gateway's sensors and pre-alarm signal.</summary>
    private RuleEngine CreateEngine(CareProfile profile) => new(profile, Config.Sensors, _preAlarm);

    /// <summary>Runs the rules and the uplink until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(
            ReportStoreRecoveryAsync(cancellationToken),
            Rules.RunAsync(cancellationToken),
            Uplink.RunAsync(cancellationToken),
            Commands.RunAsync(cancellationToken),
            SensorStatus?.RunAsync(cancellationToken) ?? Task.CompletedTask,
            Zigbee?.RunAsync(cancellationToken) ?? Task.CompletedTask);

    /// <summary>
    /// Every sensor event goes to the health monitor and to the rules; a "heard" event without health fields carries
    /// nothing for the rules and stays out of their queue.
    /// </summary>
    private void Dispatch(SensorEvent e)
    {
        Health.Observe(e);
        if (e.Type != SensorEventType.Heard || e.Health is not null)
        {
            Rules.Post(e);
        }
    }

    /// <summary>As <see cref="Dispatch"/>; the task completes once the event's effect is durable (the Zigbee message is then acknowledged).</summary>
    private Task DispatchDurable(SensorEvent e)
    {
        Health.Observe(e);
        return e.Type != SensorEventType.Heard || e.Health is not null ? Rules.PostAsync(e) : Task.CompletedTask;
    }

    private static GpioOutputLine ToOutput(GpioOutputOptions output) =>
        new(SensorConfigValidation.ResolveLine(output.Line, output.HeaderPin) ?? throw new ArgumentException($"Output '{output.Name}' has no GPIO line", nameof(output)), output.ActiveLevel == ActiveLevel.High);

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

        ((GpioAlarmIndicator)Indicator).Dispose();
        if (Zigbee is not null)
        {
            await Zigbee.DisposeAsync();
        }

        Health.Dispose();
        SensorStatus?.Dispose();

        Rules.Dispose();
        await Uplink.DisposeAsync();
        Executor.Dispose();
        CommandJournal.Dispose();
        Outbox.Dispose();
    }
}
