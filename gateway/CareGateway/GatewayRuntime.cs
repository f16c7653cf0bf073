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
public sealed partial class GatewayRuntime : IAsyncDisposable
{
    private readonly List<GpioSensorInput> _inputs = [];
    private readonly MqttUplink? _mqtt;

    public GatewayRuntime(GatewayConfig config, GpioController gpio, TimeProvider time, ILoggerFactory logs, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(logs);
        Config = config;
        ProfileStore = new FileCareProfileStore(config.DataDirectory, config.CareProfile, logs.CreateLogger("profile"));
        Profile = ProfileStore.Current;
        Outbox = new SqliteOutbox(Path.Combine(config.DataDirectory, "outbox.db"));
        Raiser = new AlarmRaiser(Outbox, () => Profile);
        Rules = new RuleRunner(new RuleEngine(Profile, config.Sensors), Raiser, time, logs.CreateLogger("rules"));
        _mqtt = config.IotHub is not null ? null : new MqttUplink(
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
                SoftwareVersion = typeof(GatewayRuntime).Assembly.GetName().Version?.ToString(3),
            },
            Outbox,
            time,
            logs.CreateLogger("uplink"));
        Connection = (IAlarmUplink?)_mqtt ?? CreateIotHubUplink(config, time, logs);
        Raiser.Stored += (_, _) => Connection.NotifyNewAlarm();
        (Executor, Commands, CommandJournal) = CreateCommands(config, time, logs);

        foreach (var sensor in config.Sensors.Where(s => s.Gpio is not null))
        {
            _inputs.Add(new GpioSensorInput(gpio, sensor, time, Rules.Post));
        }
    }

    public GatewayConfig Config { get; }

    /// <summary>The care profile in use; the centre may replace it (<see cref="ProfileStore"/>).</summary>
    public CareProfile Profile { get; private set; }

    public SqliteOutbox Outbox { get; }

    public AlarmRaiser Raiser { get; }

    public RuleRunner Rules { get; }

    /// <summary>The connection to the centre's broker; only when the configuration names no IoT Hub.</summary>
    public MqttUplink Uplink => _mqtt ?? throw new InvalidOperationException("This gateway reaches the centre through Azure IoT Hub: use Connection.");

    /// <summary>The way to the centre the configuration selects: the centre's broker, or Azure IoT Hub.</summary>
    public IAlarmUplink Connection { get; }

    /// <summary>Runs the rules and the uplink until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(Rules.RunAsync(cancellationToken), Connection.RunAsync(cancellationToken), Commands.RunAsync(cancellationToken));

    public async ValueTask DisposeAsync()
    {
        foreach (var input in _inputs)
        {
            input.Dispose();
        }

        Rules.Dispose();
        await Connection.DisposeAsync();
        Executor.Dispose();
        CommandJournal.Dispose();
        Outbox.Dispose();
    }
}
