using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;
using CareGateway.Uplink;
using MQTTnet;
using Spectre.Console;

namespace CareGateway.Cli;

/// <summary>One line of the selftest report; <paramref name="Timeout"/> is how long the check waits at most (none: it does not wait).</summary>
public sealed record SelftestCheck(string Name, string Result, string Detail, TimeSpan? Timeout = null)
{
    public const string Ok = "ok";
    public const string Failed = "failed";
    public const string Unknown = "unknown";

    /// <summary>Passed, but something needs a look (a panic button that reads pressed at rest): not counted as failed.</summary>
    public const string Warning = "warning";

    /// <summary>The check's name as a person reads it, with its timeout: "centre answered (up to 90 s)".</summary>
    public string Title => Timeout is { } t ? $"{Name} (up to {HumanTime.Duration(t)})" : Name;
}

public sealed record SelftestOptions
{
    /// <summary>How long the centre has to acknowledge the test alarm as received.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>How long to wait for the retained status of the running gateway.</summary>
    public TimeSpan StatusTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the centre's broker has to accept this gateway's connection.</summary>
    public TimeSpan BrokerTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>While waiting for the centre, a "still waiting" line this often.</summary>
    public TimeSpan ProgressEvery { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Skip the board check (a bench without the HAT).</summary>
    public bool SkipBoard { get; init; }

    /// <summary>Reads whether the clock is synchronized: "yes", "no" or null (unknown). Default: timedatectl.</summary>
    public Func<string?>? TimeSync { get; init; }
}

/// <summary>
/// <c>care-gateway selftest</c>: the board opens, the clock is synchronized, the centre's broker accepts this gateway's
/// credentials and TLS ("broker reachable"), the running service is connected to that broker (its retained status),
/// each sensor reported recently with a good battery (its retained sensor status), and a <c>test</c> alarm put into the
/// outbox is carried by the running service and acknowledged as received ("centre answered": only this one says the
/// centre itself is there). Each check that waits says so when it starts, with its timeout. Exit 0 only when nothing failed.
/// </summary>
public static class SelftestCommand
{
    public static Command Create()
    {
        var ack = new Option<int>("--ack-timeout") { Description = "Seconds the centre has to acknowledge the test alarm.", DefaultValueFactory = _ => 90 };
        var skipBoard = new Option<bool>("--skip-board") { Description = "Do not open the GPIO board (a bench without the sensor board)." };
        var command = new Command("selftest", "Check the board, sensors, broker, clock and a test alarm end to end; exits non-zero when anything failed.") { ack, skipBoard };
        command.SetAction((parse, ct) => CliOptions.InvokeAsync(parse, (c, p) => RunAsync(new SelftestOptions { AckTimeout = TimeSpan.FromSeconds(parse.GetValue(ack)), SkipBoard = parse.GetValue(skipBoard) }, p, c, ct)));
        return command;
    }

    public static async Task<int> RunAsync(SelftestOptions options, string configPath, CliContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var config = ConfigFile.Load(configPath);
        var checks = new List<SelftestCheck>();
        void Add(string name, string result, string detail, TimeSpan? timeout = null)
        {
            var check = new SelftestCheck(name, result, detail, timeout);
            checks.Add(check);
            context.Say($"{Mark(result)}  {Markup.Escape(check.Title)}: {Markup.Escape(detail)}");
        }

        if (!options.SkipBoard && !GatewayRuntime.NeedsGpio(config))
        {
            Add("board", SelftestCheck.Ok, "nothing is wired to GPIO (no GPIO sensors, buzzer or LEDs): no GPIO driver needed");
        }
        else if (!options.SkipBoard)
        {
            try
            {
                using var gpio = SensorsCommand.OpenBoard(config.Board);
                Add("board", SelftestCheck.Ok, $"{config.Board.Driver.ToString().ToLowerInvariant()} driver opened ({config.Board.EffectiveModel()})");
            }
            catch (CliException ex)
            {
                Add("board", SelftestCheck.Failed, ex.Message + " " + ex.Hint);
            }
        }

        if (config.Outbox.ReserveMegabytes > 0)
        {
            var reserve = new FileInfo(Path.Combine(config.DataDirectory, "outbox.db.reserve"));
            var wanted = config.Outbox.ReserveMegabytes * 1024L * 1024;
            Add("disk reserve", reserve.Exists && reserve.Length >= wanted ? SelftestCheck.Ok : SelftestCheck.Failed, reserve.Exists && reserve.Length >= wanted
                ? $"{config.Outbox.ReserveMegabytes} MiB held beside the alarm store for a full disk"
                : $"the {config.Outbox.ReserveMegabytes} MiB disk reserve beside the alarm store is missing ({FreeSpace(config.DataDirectory)}): a full disk would find no room for the next alarm. Free space on the disk and restart the service");
        }

        var sync = (options.TimeSync ?? ReadTimeSync)();
        Add("time sync", sync switch { "yes" => SelftestCheck.Ok, "no" => SelftestCheck.Failed, _ => SelftestCheck.Unknown }, sync switch
        {
            "yes" => "the clock is synchronized (NTP)",
            "no" => "the clock is not synchronized: alarm times would be wrong; check the network and 'timedatectl'",
            _ => "cannot tell (no timedatectl)",
        }, options.TimeSync is null ? TimeSyncTimeout : null);

        if (config.IotHub is not null)
        {
            Add(CentreCheck, SelftestCheck.Unknown, "this gateway uses Azure IoT Hub; selftest checks the MQTT broker path only");
            return Report(context, checks);
        }

        LocalMqtt? mqtt = null;
        context.Say(Markup.Escape($"waiting for the centre's broker at {config.Broker.Host}:{config.Broker.Port} to accept this gateway (up to {HumanTime.Duration(options.BrokerTimeout)})…"));
        try
        {
            mqtt = await LocalMqtt.ConnectAsync(config.Broker.Host, config.Broker.Port, $"{config.GatewayId}-selftest", config.Broker.Username, SensorsCommand.ReadPassword(config.Broker.PasswordFile), cancellationToken, Tls(config.Broker.Tls), options.BrokerTimeout);
            Add(BrokerCheck, SelftestCheck.Ok, $"connected to {config.Broker.Host}:{config.Broker.Port} {(config.Broker.Tls is { } t ? $"with TLS{(t.CertFile is not null ? " and this gateway's certificate" : string.Empty)}" : "without TLS")}; this says nothing yet of the centre behind it", options.BrokerTimeout);
        }
        catch (CliException ex)
        {
            Add(BrokerCheck, SelftestCheck.Failed, ex.Message + " " + ex.Hint, options.BrokerTimeout);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            Add(BrokerCheck, SelftestCheck.Failed, $"cannot read the credentials ({ex.Message}); check broker.tls and broker.passwordFile in the configuration", options.BrokerTimeout);
        }

        if (mqtt is null)
        {
            Add(CentreCheck, SelftestCheck.Failed, "test alarm not sent: no connection to the broker", options.AckTimeout);
            return Report(context, checks);
        }

        await using (mqtt)
        {
            context.Say(Markup.Escape($"waiting for the gateway service's status at the broker (up to {HumanTime.Duration(options.StatusTimeout)})…"));
            var reports = await GatewayReports.ReadAsync(mqtt, config.GatewayId, options.StatusTimeout, context.Time, cancellationToken);
            var status = reports.Status;
            var online = status is not null && ReadString(status.Payload, "state") == "online";
            var zone = ProfileCommand.Zone(config);
            Add("gateway service", online ? SelftestCheck.Ok : SelftestCheck.Failed, online
                ? $"running and connected to the centre's broker{Since(ReadString(status!.Payload, "since"), context.Time.GetUtcNow(), zone)}"
                : "not connected to the centre's broker: start it with 'sudo systemctl start care-gateway' and read 'journalctl -u care-gateway'", options.StatusTimeout);

            foreach (var sensor in config.Sensors)
            {
                Add($"sensor {sensor.Id}", SensorResult(sensor, reports.Sensors.GetValueOrDefault(sensor.Id), context.Time.GetUtcNow(), zone, out var detail), detail);
            }

            if (!online)
            {
                Add(CentreCheck, SelftestCheck.Failed, "test alarm not sent: the gateway service is not connected", options.AckTimeout);
            }
            else
            {
                var (result, detail) = await TestAlarmAsync(config, options, context, cancellationToken);
                Add(CentreCheck, result, detail, options.AckTimeout);
            }
        }

        return Report(context, checks);
    }

    /// <summary>
    /// One sensor's check from its retained report: failed when unreported, offline, never seen or its battery is low;
    /// a warning when it reads active at rest where that is not normal (a button pressed, a detector triggered: during a
    /// selftest that is mostly a reversed wiring, and a real press would not be seen); else ok.
    /// </summary>
    internal static string SensorResult(SensorDefinition sensor, JsonElement status, DateTimeOffset now, TimeZoneInfo zone, out string detail)
    {
        if (status.ValueKind != JsonValueKind.Object)
        {
            detail = "no report from the gateway yet: trigger it ('care-gateway sensors test') and check its wiring or pairing";
            return SelftestCheck.Failed;
        }

        var parts = new List<string>();
        var lastSeen = status.TryGetProperty("lastSeen", out var ls) && ls.ValueKind == JsonValueKind.String ? ls.GetString() : null;
        parts.Add(lastSeen is null ? "never seen" : $"last seen {(ParseTime(lastSeen) is { } seen ? $"{HumanTime.Local(seen, zone)} ({HumanTime.Duration(now - seen)} ago)" : lastSeen)}");
        if (status.TryGetProperty("batteryPercent", out var b) && b.ValueKind == JsonValueKind.Number)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"battery {b.GetInt32()} %"));
        }

        if (status.TryGetProperty("linkQuality", out var lq) && lq.ValueKind == JsonValueKind.Number)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"link {lq.GetInt32()}"));
        }

        var isOnline = !status.TryGetProperty("online", out var o) || o.ValueKind != JsonValueKind.False;
        var batteryLow = status.TryGetProperty("batteryLow", out var bl) && bl.ValueKind == JsonValueKind.True;
        if (!isOnline)
        {
            parts.Add($"OFFLINE ({(status.TryGetProperty("offlineReason", out var r) ? r.GetString() : "unknown")})");
        }

        if (batteryLow)
        {
            parts.Add("BATTERY LOW: replace it");
        }

        var activeAtRest = status.TryGetProperty("state", out var st) && st.ValueKind == JsonValueKind.String && st.GetString() == "active"
            && sensor.Kind is SensorKind.Panic or SensorKind.CancelButton or SensorKind.Smoke or SensorKind.Water or SensorKind.Fall or SensorKind.PowerFail;
        if (activeAtRest)
        {
            parts.Add(sensor.Kind is SensorKind.Panic or SensorKind.CancelButton
                ? "READS PRESSED AT REST: if nobody holds it, the wiring is reversed and a real press would not be seen; check --wiring and --pull (docs/sensors.md)"
                : "READS ACTIVE AT REST: a real alarm, or the wiring is reversed; check --wiring and --pull (docs/sensors.md)");
        }

        detail = string.Join(", ", parts);
        return !isOnline || batteryLow || lastSeen is null ? SelftestCheck.Failed : activeAtRest ? SelftestCheck.Warning : SelftestCheck.Ok;
    }

    /// <summary>
    /// Puts a <c>test</c> alarm into the gateway's own outbox, where the running service picks it up like any alarm
    /// (stored first, sent, re-sent until received), and waits for the centre's <c>received</c> in the outbox.
    /// </summary>
    private static async Task<(string Result, string Detail)> TestAlarmAsync(GatewayConfig config, SelftestOptions options, CliContext context, CancellationToken cancellationToken)
    {
        var timeout = options.AckTimeout;
        var path = Path.Combine(config.DataDirectory, "outbox.db");
        if (!File.Exists(path))
        {
            return (SelftestCheck.Failed, $"no outbox at {path}: is dataDirectory the running service's?");
        }

        using var outbox = new SqliteOutbox(path);
        var profile = ConfigLoader.ToProfile(ProfileCommand.Current(config).Profile);
        var raiser = new AlarmRaiser(outbox, () => profile);
        var alarm = await raiser.RaiseAsync(new AlarmRequest(AlarmType.Test, null, null, "Technician's selftest", context.Time.GetUtcNow()), cancellationToken);
        var started = context.Time.GetTimestamp();
        context.Say(Markup.Escape($"test alarm {alarm.AlarmId} stored; waiting for the centre to answer (up to {HumanTime.Duration(timeout)})…"));
        var nextProgress = options.ProgressEvery;
        AckState? state = null;
        while (context.Time.GetElapsedTime(started) is var elapsed && elapsed < timeout)
        {
            if (outbox.Find(alarm.AlarmId)?.Ack is { } ack)
            {
                state = ack;
                break;
            }

            if (options.ProgressEvery > TimeSpan.Zero && elapsed >= nextProgress)
            {
                context.Say(Markup.Escape($"still waiting for the centre: {HumanTime.Duration(nextProgress)} of {HumanTime.Duration(timeout)}…"));
                nextProgress += options.ProgressEvery;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), context.Time, cancellationToken);
        }

        var took = HumanTime.Duration(context.Time.GetElapsedTime(started));
        return state is null
            ? (SelftestCheck.Failed, $"no answer: test alarm {alarm.AlarmId} not acknowledged within {HumanTime.Duration(timeout)}; it stays in the outbox and is sent until the centre answers. Call the centre, and read 'journalctl -u care-gateway'")
            : (SelftestCheck.Ok, $"test alarm {alarm.AlarmId} acknowledged by the centre ({state.Value.ToString().ToLowerInvariant()}) after {took}");
    }

    /// <summary>The name of the check that the centre's broker accepts this gateway.</summary>
    public const string BrokerCheck = "broker reachable";

    /// <summary>The name of the check that the centre itself acknowledged the test alarm.</summary>
    public const string CentreCheck = "centre answered";

    /// <summary>How long asking timedatectl may take.</summary>
    private static readonly TimeSpan TimeSyncTimeout = TimeSpan.FromSeconds(5);

    private static string Mark(string result) => result switch
    {
        SelftestCheck.Ok => "[green]ok[/]",
        SelftestCheck.Failed => "[red]FAILED[/]",
        SelftestCheck.Warning => "[yellow]WARNING[/]",
        _ => "[yellow]unknown[/]",
    };

    private static string Since(string? iso, DateTimeOffset now, TimeZoneInfo zone) =>
        ParseTime(iso) is { } at ? $" since {HumanTime.Local(at, zone)} ({HumanTime.Duration(now - at)})" : string.Empty;

    private static DateTimeOffset? ParseTime(string? iso) =>
        iso is not null && DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at) ? at : null;

    private static int Report(CliContext context, List<SelftestCheck> checks)
    {
        var failed = checks.Count(c => c.Result == SelftestCheck.Failed);
        var warnings = checks.Count(c => c.Result == SelftestCheck.Warning);
        if (context.Json)
        {
            context.WriteJson(new JsonObject
            {
                ["ok"] = failed == 0,
                ["warnings"] = warnings,
                ["checks"] = new JsonArray([.. checks.Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, ["result"] = c.Result, ["detail"] = c.Detail, ["timeoutSeconds"] = c.Timeout is { } t ? (long)t.TotalSeconds : null })]),
            });
        }
        else
        {
            var table = new Table().AddColumn("Check").AddColumn("Result").AddColumn("Detail");
            foreach (var c in checks)
            {
                table.AddRow(Markup.Escape(c.Title), Mark(c.Result), Markup.Escape(c.Detail));
            }

            context.Console.Write(table);
            context.Console.MarkupLine(failed > 0
                ? $"[red]Selftest failed: {failed} check(s).[/]{(warnings > 0 ? $" [yellow]{warnings} warning(s).[/]" : string.Empty)} Fix them as each line says; docs/installation.md has more."
                : warnings > 0 ? $"[green]Selftest passed[/] [yellow]with {warnings} warning(s)[/]: read each WARNING line; docs/installation.md has more." : "[green]Selftest passed.[/]");
        }

        return failed == 0 ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }

    private static string? ReadString(byte[] payload, string property)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>timedatectl's NTPSynchronized: "yes", "no", or null when it cannot be asked.</summary>
    public static string? ReadTimeSync()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("timedatectl", ["show", "-p", "NTPSynchronized", "--value"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd().Trim();
            return process.WaitForExit(TimeSyncTimeout) && process.ExitCode == 0 && output is "yes" or "no" ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static string FreeSpace(string directory)
    {
        try
        {
            return $"{new DriveInfo(Path.GetFullPath(directory)).AvailableFreeSpace / (1024 * 1024)} MiB free";
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return "free space unknown";
        }
    }

    /// <summary>The same TLS as the gateway's own connection: the pinned CA, and the client certificate if any.</summary>
    internal static Mqtt.MqttTlsOptions? Tls(TlsConfig? tls) =>
        tls is null ? null : new Mqtt.MqttTlsOptions { CaFile = tls.CaFile, CertFile = tls.CertFile, KeyFile = tls.KeyFile };
}
