using System.Device.Gpio;
using CareGateway.Hardware;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary><c>care-gateway run --config FILE</c>: the service, until SIGTERM.</summary>
internal static class RunCommand
{
    public static Task<int> RunAsync(FileInfo configFile, CancellationToken cancellationToken) => RunAsync(configFile, Console.Error, cancellationToken);

    /// <summary>As <see cref="RunAsync(FileInfo, CancellationToken)"/>; a configuration that cannot be used is reported on <paramref name="error"/> as every command reports it.</summary>
    public static async Task<int> RunAsync(FileInfo configFile, TextWriter error, CancellationToken cancellationToken)
    {
        GatewayConfig config;
        try
        {
            StartupTrace.Mark("run command entered");
            config = Cli.ConfigFile.Load(configFile.FullName); // a missing file says what and where, as every command does
            StartupTrace.Mark("configuration loaded and validated");
            KeepLastGood(config, configFile.FullName);
        }
        catch (Exception ex) when (ex is ConfigException or Cli.CliException)
        {
            var context = Cli.CliContext.ForWriter(error);
            if (LastGoodConfig.Recover(configFile.FullName) is not { } fallback)
            {
                return ex is Cli.CliException cli
                    ? Cli.CliOptions.Report(context, cli.Message, cli.Hint, cli.Details, Cli.ExitCodes.BadInput)
                    : Cli.CliOptions.Report(context, $"The configuration {configFile.FullName} is not valid.", "Fix the values named above and start again (docs/configuration.md describes every setting; 'care-gateway profile validate --config FILE' checks the file).", ((ConfigException)ex).Errors, Cli.ExitCodes.BadInput);
            }

            await error.WriteLineAsync(ex is ConfigException bad ? bad.Message : ex.Message);

            // Loudly: the home keeps its gateway, but on yesterday's settings until the file is fixed.
            await error.WriteLineAsync($"RUNNING ON THE LAST GOOD CONFIGURATION from {fallback.Path}, not on {configFile.FullName}: fix that file ('care-gateway profile validate' / docs/configuration.md) and restart the service.");
            config = fallback.Config;
        }

        var password = ReadSecret(config.Broker.PasswordFile);
        // The host's defaults would watch appsettings*.json under the content root (the working directory, "/" under
        // systemd) with a recursive FileSystemWatcher: a thread woken by every write below it (the alarm store, the
        // journal). The gateway reads no appsettings; its own configuration file is watched by ConfigReloader.
        var hostSettings = new HostApplicationBuilderSettings { Configuration = new ConfigurationManager() };
        hostSettings.Configuration.AddInMemoryCollection([new("hostBuilder:reloadConfigOnChange", "false")]);
        var builder = Host.CreateApplicationBuilder(hostSettings);
        builder.Services.AddSystemd();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(TimeProvider.System);
        var fatal = new FatalStart();
        builder.Services.AddHostedService(sp => new GatewayService(
            config,
            password,
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetService<ISystemdNotifier>(),
            fatal,
            configFile.FullName));

        using var host = builder.Build();
        StartupTrace.Mark("host built");
        await host.RunAsync(cancellationToken);
        if (fatal.Problem is { } problem)
        {
            // Not 0: systemd (Restart=on-failure) must see that the gateway did not run, and start it again.
            await Console.Error.WriteLineAsync($"The gateway could not start: {problem}");
            return Cli.ExitCodes.CheckFailed;
        }

        return 0;
    }

    /// <summary>What stopped the gateway for good, when something did; the exit status then says so.</summary>
    private sealed class FatalStart
    {
        public string? Problem { get; set; }
    }

    /// <summary>Plain words for what stopped the gateway, without .NET type names.</summary>
    private static string Describe(Exception ex) => ex switch
    {
        _ when ex.Message.Contains("libgpiod", StringComparison.OrdinalIgnoreCase) =>
            $"the board's GPIO cannot be opened ({ex.Message}). Install libgpiod (apt-get install libgpiod2), or use board.driver 'simulated' on a bench; a gateway without wired sensors, buzzer or LEDs needs no GPIO at all.",
        UnauthorizedAccessException => $"permission denied: {ex.Message}",
        _ => ex.Message,
    };

    private static void KeepLastGood(GatewayConfig config, string path)
    {
        try
        {
            LastGoodConfig.Keep(config, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"Warning: cannot keep a copy of the configuration in {config.DataDirectory} ({ex.Message}); a broken edit will stop the service.");
        }
    }

    private static string? ReadSecret(string? path) => path is null ? null : File.ReadAllText(path).Trim();

    private sealed class GatewayService(GatewayConfig config, string? password, ILoggerFactory logs, ISystemdNotifier? notifier, FatalStart fatal, string? configPath = null) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var log = logs.CreateLogger("gateway");
            try
            {
                await RunCyclesAsync(log, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                fatal.Problem = Describe(ex);
                log.LogCritical(ex, "The gateway stopped: {Problem}", fatal.Problem);
                throw; // the host stops; RunAsync turns this into a non-zero exit status
            }
        }

        private async Task RunCyclesAsync(ILogger log, CancellationToken stoppingToken)
        {
            var current = config;
            var secret = password;
            while (!stoppingToken.IsCancellationRequested)
            {
                // One gateway per configuration; a valid change ends this cycle cleanly (alarms stay in the outbox on
                // disk) and the next cycle starts on the new configuration.
                using var cycle = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                GatewayConfig? next = null;
                var handover = new HandoverSlot();
                var reloader = configPath is null ? null : new ConfigReloader(
                    configPath,
                    current,
                    TimeProvider.System,
                    changed =>
                    {
                        next = changed;
                        // Before the cancel, not in a callback of it: the runtime's own cancellation callbacks run
                        // first (last registered, first run) and may close the uplink before a later callback could
                        // say "hand over" - and the centre would see a clean stop's 'offline'.
                        handover.Prepare();
                        cycle.Cancel();
                    },
                    errors => log.LogError("The changed configuration {Path} is not valid; the gateway keeps running on the last good one:{NewLine}  - {Errors}", configPath, Environment.NewLine, string.Join(Environment.NewLine + "  - ", errors)));
                await RunOnceAsync(current, secret, log, reloader, handover, cycle.Token);
                if (stoppingToken.IsCancellationRequested || next is null)
                {
                    break;
                }

                log.LogInformation("Configuration {Path} changed and is valid: restarting the gateway on it (the centre sees no 'offline')", configPath);
                current = next;
                secret = ReadSecret(current.Broker.PasswordFile);
                KeepLastGood(current, configPath!);
            }
        }

        private async Task RunOnceAsync(GatewayConfig config, string? password, ILogger log, ConfigReloader? reloader, HandoverSlot handover, CancellationToken stoppingToken)
        {
            // GPIO only when something is wired to it: a Zigbee-only gateway needs no GPIO driver (nor libgpiod).
            var driver = GatewayRuntime.NeedsGpio(config) ? CreateDriver(config.Board) : null;
            using var gpio = driver is null ? null : new GpioController(driver);
            await using var runtime = new GatewayRuntime(config, gpio, TimeProvider.System, logs, password);

            // A bench without hardware: 'care-gateway simulate press SENSOR' drives the simulated board's inputs.
            await using var simulate = config.Board.Driver == BoardDriver.Simulated
                ? SimulatedInputServer.Start(SimulatedInputServer.SocketPath(config.DataDirectory), driver as SimulatedBoard, config.Sensors, logs.CreateLogger("simulate"))
                : null;
            handover.Attach(runtime);
            StartupTrace.Attach(runtime);
            foreach (var room in SensorConfigValidation.RoomErrors(config))
            {
                log.LogWarning("Room label to fix (the gateway runs, but the label goes to the centre with every alarm): {Problem}", room);
            }

            log.LogInformation("Gateway {GatewayId} started: {Sensors} sensors, broker {Host}:{Port}, outbox {Outbox}", config.GatewayId, config.Sensors.Count, config.Broker.Host, config.Broker.Port, runtime.Outbox.DatabasePath);
            try
            {
                await Task.WhenAll(runtime.RunAsync(stoppingToken), WatchdogAsync(runtime, log, stoppingToken), reloader?.RunAsync(stoppingToken) ?? Task.CompletedTask);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }

            log.LogInformation("Gateway {GatewayId} stopped; {Pending} alarms wait in the outbox", config.GatewayId, runtime.Outbox.PendingCount);
        }

        private Task WatchdogAsync(GatewayRuntime runtime, ILogger log, CancellationToken stoppingToken)
        {
            var interval = SystemdWatchdog.IntervalFromEnvironment(
                Environment.GetEnvironmentVariable("WATCHDOG_USEC"),
                Environment.GetEnvironmentVariable("WATCHDOG_PID"),
                Environment.ProcessId);
            if (interval is null || notifier is not { IsEnabled: true } systemd)
            {
                return Task.CompletedTask;
            }

            log.LogInformation("systemd watchdog on: keep-alive every {Interval}", Core.HumanTime.Duration(interval.Value));
            var watchdog = new SystemdWatchdog(
                interval.Value,
                _ => runtime.Rules.AliveAsync(), // the rule loop answers: it is not stuck (waiting for disk space is not stuck)
                state => systemd.Notify(new ServiceState(state)),
                TimeProvider.System,
                message => log.LogError("{Message}", message));
            return watchdog.RunAsync(stoppingToken);
        }

        // Built explicitly from the board profile: the Pi 5 header is on the RP1 chip, whose number depends on the kernel.
        private static GpioDriver CreateDriver(BoardConfig board) => board.Driver switch
        {
            BoardDriver.Simulated => new SimulatedBoard(),
            _ => GpioChips.CreateDriver(board.EffectiveModel(), board.Chip),
        };
    }
}

/// <summary>
/// The running gateway of one cycle, for the reload to mark "hand the connection over" on it before it cancels the
/// cycle (a change noticed before the gateway is up is marked as soon as it is attached).
/// </summary>
internal sealed class HandoverSlot
{
    private readonly Lock _gate = new();
    private GatewayRuntime? _runtime;
    private bool _prepared;

    public void Attach(GatewayRuntime runtime)
    {
        lock (_gate)
        {
            _runtime = runtime;
            if (_prepared)
            {
                runtime.PrepareHandover();
            }
        }
    }

    public void Prepare()
    {
        lock (_gate)
        {
            _prepared = true;
            _runtime?.PrepareHandover();
        }
    }
}
