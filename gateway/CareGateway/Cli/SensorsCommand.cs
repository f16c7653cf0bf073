using System.CommandLine;
using System.Device.Gpio;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using CareGateway.Hardware;
using CareGateway.Sensors;
using CareGateway.Sensors.Zigbee;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace CareGateway.Cli;

public sealed record SensorAddOptions
{
    public required string Id { get; init; }

    public required string Kind { get; init; }

    public required string Room { get; init; }

    /// <summary>A wired sensor: the header pin (1-40) its signal wire is on.</summary>
    public int? HeaderPin { get; init; }

    public PullMode Pull { get; init; } = PullMode.Up;

    public ContactWiring? Wiring { get; init; }

    /// <summary>Without <see cref="Wiring"/>: the level that means active; neither given: the kind's contact with the pull (<see cref="GpioWiring.DefaultWiring"/>).</summary>
    public ActiveLevel? ActiveLevel { get; init; }

    public bool OuterDoor { get; init; }

    public int? SupervisionMinutes { get; init; }

    /// <summary>A Zigbee sensor: pair it through zigbee2mqtt.</summary>
    public bool Zigbee { get; init; }

    public int JoinSeconds { get; init; } = 254;
}

/// <summary><c>care-gateway sensors add | list | remove | test</c>.</summary>
public static class SensorsCommand
{
    public static Command Create()
    {
        var sensors = new Command("sensors", "Add, list, remove and test the home's sensors.");

        var list = new Command("list", "List the sensors in the configuration.");
        list.SetAction((parse, _) => CliOptions.InvokeAsync(parse, (c, p) => ListAsync(p, c)));
        sensors.Subcommands.Add(list);

        var id = new Argument<string>("id") { Description = "The sensor's id (a-z, 0-9, '-'), for example door-front." };
        var kind = new Option<string>("--kind") { Description = "door, bed, motion, presence, panic, fall, smoke, water, ...", Required = true };
        var room = new Option<string>("--room") { Description = "The room label, for example hallway (no names of people).", Required = true };
        var pin = new Option<int?>("--pin") { Description = "A wired sensor: the header pin (1-40) of its signal wire; checked against the board." };
        var pull = new Option<PullMode>("--pull") { Description = "The pin's pull resistor: up, down or none.", DefaultValueFactory = _ => PullMode.Up };
        var wiring = new Option<string?>("--wiring") { Description = "A contact: normally-open or normally-closed (with --pull, sets the active level)." };
        var activeLow = new Option<bool>("--active-low") { Description = "Without --wiring: the sensor is active when the pin is low. Neither given: a door is normally-closed, any other kind normally-open, with --pull." };
        var outer = new Option<bool>("--outer-door") { Description = "This door is the home's outer door (for the night wandering rule)." };
        var supervision = new Option<int?>("--supervision-minutes") { Description = "Report the sensor offline after this long unheard." };
        var zigbee = new Option<bool>("--zigbee") { Description = "A Zigbee sensor: open zigbee2mqtt's join window, wait for it, rename it to the id." };
        var join = new Option<int>("--join-seconds") { Description = "How long the join window stays open (1-254).", DefaultValueFactory = _ => 254 };
        var add = new Command("add", "Add a wired sensor by header pin (--pin), or pair a Zigbee sensor (--zigbee).")
        {
            id, kind, room, pin, pull, wiring, activeLow, outer, supervision, zigbee, join,
        };
        add.SetAction((parse, ct) => CliOptions.InvokeAsync(parse, (c, p) => AddAsync(
            new SensorAddOptions
            {
                Id = parse.GetValue(id)!,
                Kind = parse.GetValue(kind)!,
                Room = parse.GetValue(room)!,
                HeaderPin = parse.GetValue(pin),
                Pull = parse.GetValue(pull),
                Wiring = parse.GetValue(wiring) switch
                {
                    null => null,
                    "normally-open" => ContactWiring.NormallyOpen,
                    "normally-closed" => ContactWiring.NormallyClosed,
                    var w => throw new CliException($"'{w}' is not a wiring.", "Give --wiring normally-open or --wiring normally-closed."),
                },
                ActiveLevel = parse.GetValue(activeLow) ? ActiveLevel.Low : null,
                OuterDoor = parse.GetValue(outer),
                SupervisionMinutes = parse.GetValue(supervision),
                Zigbee = parse.GetValue(zigbee),
                JoinSeconds = parse.GetValue(join),
            },
            p,
            c,
            ct)));
        sensors.Subcommands.Add(add);

        var removeId = new Argument<string>("id") { Description = "The sensor to remove." };
        var remove = new Command("remove", "Remove a sensor from the configuration.") { removeId };
        remove.SetAction((parse, _) => CliOptions.InvokeAsync(parse, (c, p) => RemoveAsync(parse.GetValue(removeId)!, p, c)));
        sensors.Subcommands.Add(remove);

        var only = new Argument<string[]>("ids") { Description = "The sensors to test; all when none is named.", Arity = ArgumentArity.ZeroOrMore };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for each sensor.", DefaultValueFactory = _ => 60 };
        var test = new Command("test", "Ask the technician to trigger each sensor and show that the gateway saw it.") { only, timeout };
        test.SetAction((parse, ct) => CliOptions.InvokeAsync(parse, (c, p) => TestAsync(parse.GetValue(only) ?? [], TimeSpan.FromSeconds(parse.GetValue(timeout)), p, c, gpio: null, prompted: null, ct)));
        sensors.Subcommands.Add(test);
        return sensors;
    }

    public static SensorKind ParseKind(string name) =>
        Enum.GetValues<SensorKind>().FirstOrDefault(k => SensorKinds.Name(k) == name) is var kind && SensorKinds.Name(kind) == name
            ? kind
            : throw new CliException($"'{name}' is not a sensor kind.", $"Give --kind as one of: {string.Join(", ", Enum.GetValues<SensorKind>().Select(SensorKinds.Name))}.");

    public static Task<int> ListAsync(string configPath, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = ConfigFile.Load(configPath);
        if (context.Json)
        {
            context.WriteJson(new JsonObject
            {
                ["ok"] = true,
                ["sensors"] = new JsonArray([.. config.Sensors.Select(s => (JsonNode)Describe(s))]),
            });
            return Task.FromResult(ExitCodes.Ok);
        }

        var table = new Table().AddColumn("Id").AddColumn("Kind").AddColumn("Room").AddColumn("Source");
        foreach (var s in config.Sensors)
        {
            table.AddRow(Markup.Escape(s.Id), SensorKinds.Name(s.Kind) + (s.OuterDoor ? " (outer)" : string.Empty), Markup.Escape(s.Room), Markup.Escape(SourceOf(s)));
        }

        context.Console.Write(table);
        if (config.Sensors.Count == 0)
        {
            context.Console.MarkupLine("[yellow]No sensors yet:[/] add one with 'care-gateway sensors add ID --kind door --room hallway --pin 11' or '... --zigbee'.");
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    public static async Task<int> AddAsync(SensorAddOptions options, string configPath, CliContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var config = ConfigFile.Load(configPath);
        var kind = ParseKind(options.Kind);
        if (options.Zigbee == options.HeaderPin.HasValue)
        {
            throw new CliException("A sensor is either wired or Zigbee.", "Give --pin N for a wired sensor, or --zigbee to pair a Zigbee sensor.");
        }

        var sensor = new SensorDefinition
        {
            Id = options.Id,
            Kind = kind,
            Room = options.Room,
            OuterDoor = options.OuterDoor,
            SupervisionMinutes = options.SupervisionMinutes,
            Gpio = options.HeaderPin is { } p ? Wired(kind, p, options) : null,
            Zigbee = options.Zigbee ? new ZigbeeSensorOptions { Device = options.Id } : null,
        };
        config.Sensors = [.. config.Sensors, sensor];
        if (options.Zigbee)
        {
            config.Zigbee ??= new ZigbeeConfig();
        }

        // Board-aware validation of the whole configuration before anything is paired or written.
        var errors = ConfigLoader.Validate(config);
        if (errors.Count > 0)
        {
            throw new CliException($"Sensor '{options.Id}' cannot be added.", "Fix the value named below (another pin, another id) and run the command again.", ExitCodes.BadInput, errors);
        }

        PairedDevice? paired = null;
        if (options.Zigbee)
        {
            var z = config.Zigbee!;
            await using var mqtt = await LocalMqtt.ConnectAsync(z.Broker.Host, z.Broker.Port, $"{config.GatewayId}-cli-pair", z.Broker.Username, ReadPassword(z.Broker.PasswordFile), cancellationToken);
            var pairing = new ZigbeePairing(mqtt, z.BaseTopic, context.Time);
            paired = context.Json
                ? await pairing.PairAsync(options.Id, TimeSpan.FromSeconds(options.JoinSeconds), _ => { }, cancellationToken)
                : await context.Console.Status().StartAsync("Waiting for the Zigbee sensor to join...", status =>
                    pairing.PairAsync(options.Id, TimeSpan.FromSeconds(options.JoinSeconds), line =>
                    {
                        status.Status(Markup.Escape(line));
                        context.Console.MarkupLine(Markup.Escape(line));
                    }, cancellationToken));
        }

        ConfigFile.Save(configPath, config);
        if (context.Json)
        {
            var result = new JsonObject { ["ok"] = true, ["sensor"] = Describe(sensor) };
            if (paired is not null)
            {
                result["ieeeAddress"] = paired.IeeeAddress;
                result["model"] = paired.Model;
            }

            context.WriteJson(result);
        }
        else
        {
            context.Console.MarkupLine($"[green]Added[/] {Markup.Escape(sensor.Id)} ({SensorKinds.Name(kind)}, {Markup.Escape(sensor.Room)}) on {Markup.Escape(SourceOf(sensor))}{(paired?.Model is { Length: > 0 } m ? $" [grey]({Markup.Escape(m)}, {Markup.Escape(paired.IeeeAddress)})[/]" : string.Empty)}.");
            if (sensor.Gpio is { } wired)
            {
                var chosen = options.Wiring is null && options.ActiveLevel is null && options.Pull != PullMode.None;
                context.Console.MarkupLine(Markup.Escape(Reading(sensor.Kind, wired) + (chosen ? " Another contact: give --wiring normally-open or normally-closed (a pull cord opens when pulled)." : string.Empty)));
            }

            context.Console.MarkupLine($"[yellow]Next:[/] 'care-gateway sensors test {Markup.Escape(sensor.Id)}'; the running service picks the change up by itself.");
        }

        return ExitCodes.Ok;
    }

    public static Task<int> RemoveAsync(string id, string configPath, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = ConfigFile.Load(configPath);
        var sensor = config.Sensors.FirstOrDefault(s => s.Id == id)
            ?? throw new CliException($"There is no sensor '{id}'.", $"'care-gateway sensors list' shows the ids: {string.Join(", ", config.Sensors.Select(s => s.Id))}.");
        config.Sensors = [.. config.Sensors.Where(s => s.Id != id)];
        ConfigFile.Save(configPath, config);
        if (context.Json)
        {
            context.WriteJson(new JsonObject { ["ok"] = true, ["removed"] = Describe(sensor) });
        }
        else
        {
            context.Console.MarkupLine($"[green]Removed[/] {Markup.Escape(id)}.{(sensor.Zigbee is not null ? " The device stays paired in zigbee2mqtt: remove it there (or reset the sensor) if it leaves the home." : string.Empty)}");
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    /// <summary>
    /// Asks for each sensor to be triggered and waits (up to <paramref name="perSensor"/>) for a state change from it,
    /// through the same inputs the service uses: the GPIO driver of the board, and zigbee2mqtt on the local broker.
    /// </summary>
    public static async Task<int> TestAsync(IReadOnlyList<string> ids, TimeSpan perSensor, string configPath, CliContext context, GpioController? gpio, Action<SensorDefinition>? prompted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(context);
        var config = ConfigFile.Load(configPath);
        var unknown = ids.Where(i => config.Sensors.All(s => s.Id != i)).ToList();
        if (unknown.Count > 0)
        {
            throw new CliException($"No sensor named {string.Join(", ", unknown)}.", "'care-gateway sensors list' shows the ids.");
        }

        var chosen = config.Sensors.Where(s => ids.Count == 0 || ids.Contains(s.Id)).ToList();
        if (chosen.Count == 0)
        {
            throw new CliException("There are no sensors to test.", "Add one with 'care-gateway sensors add'.");
        }

        var events = Channel.CreateUnbounded<SensorEvent>();
        void Emit(SensorEvent e)
        {
            if (e.Type == SensorEventType.State)
            {
                events.Writer.TryWrite(e);
            }
        }

        var ownGpio = gpio is null && chosen.Any(s => s.Gpio is not null);
        gpio ??= ownGpio ? OpenBoard(config.Board) : null;
        var inputs = new List<GpioSensorInput>();
        LocalMqtt? zigbee = null;
        try
        {
            foreach (var s in chosen.Where(s => s.Gpio is not null))
            {
                inputs.Add(new GpioSensorInput(gpio!, s with { Gpio = s.Gpio! with { Line = SensorConfigValidation.ResolveLine(s.Gpio.Line, s.Gpio.HeaderPin) } }, context.Time, Emit));
            }

            if (chosen.Any(s => s.Zigbee is not null) && config.Zigbee is { } z)
            {
                var mapper = new Zigbee2MqttMapper(z.BaseTopic, chosen.Where(s => s.Zigbee is not null), context.Time, NullLogger.Instance);
                zigbee = await LocalMqtt.ConnectAsync(z.Broker.Host, z.Broker.Port, $"{config.GatewayId}-cli-test", z.Broker.Username, ReadPassword(z.Broker.PasswordFile), cancellationToken);
                await zigbee.SubscribeAsync($"{z.BaseTopic}/#", cancellationToken);
                _ = PumpAsync(zigbee, mapper, Emit, cancellationToken);
            }

            var results = new List<(SensorDefinition Sensor, bool Seen, string Detail)>();
            foreach (var sensor in chosen)
            {
                while (events.Reader.TryRead(out _))
                {
                    // what happened before the prompt does not count
                }

                context.Say($"Trigger [bold]{Markup.Escape(sensor.Id)}[/] ({SensorKinds.Name(sensor.Kind)}, {Markup.Escape(sensor.Room)}, {Markup.Escape(SourceOf(sensor))}): {Markup.Escape(HowToTrigger(sensor.Kind))}");
                using var timeout = new CancellationTokenSource(perSensor, context.Time);
                prompted?.Invoke(sensor);
                var seen = context.Json
                    ? await WaitForAsync(events.Reader, sensor.Id, timeout, cancellationToken)
                    : await context.Console.Status().StartAsync($"Waiting up to {perSensor.TotalSeconds:0} s for {Markup.Escape(sensor.Id)}...", _ => WaitForAsync(events.Reader, sensor.Id, timeout, cancellationToken));
                var detail = seen is null ? $"not seen within {perSensor.TotalSeconds:0} s" : $"seen: {(seen.Active ? "active" : "inactive")} at {seen.At:HH:mm:ss}";
                results.Add((sensor, seen is not null, detail));
                context.Say(seen is null ? $"  [red]NOT SEEN[/] {Markup.Escape(detail)}" : $"  [green]OK[/] {Markup.Escape(detail)}");
            }

            var failed = results.Count(r => !r.Seen);
            if (context.Json)
            {
                context.WriteJson(new JsonObject
                {
                    ["ok"] = failed == 0,
                    ["sensors"] = new JsonArray([.. results.Select(r => (JsonNode)new JsonObject { ["id"] = r.Sensor.Id, ["seen"] = r.Seen, ["detail"] = r.Detail })]),
                });
            }
            else
            {
                var table = new Table().AddColumn("Sensor").AddColumn("Result");
                foreach (var r in results)
                {
                    table.AddRow(Markup.Escape(r.Sensor.Id), r.Seen ? $"[green]{Markup.Escape(r.Detail)}[/]" : $"[red]{Markup.Escape(r.Detail)}[/]");
                }

                context.Console.Write(table);
                if (failed > 0)
                {
                    context.Console.MarkupLine("[yellow]What to do:[/] check the wiring and header pin (wired), or the battery and distance to the Zigbee stick (Zigbee), then test again.");
                }
            }

            return failed == 0 ? ExitCodes.Ok : ExitCodes.CheckFailed;
        }
        finally
        {
            foreach (var input in inputs)
            {
                input.Dispose();
            }

            if (zigbee is not null)
            {
                await zigbee.DisposeAsync();
            }

            if (ownGpio)
            {
                gpio?.Dispose();
            }
        }
    }

    /// <summary>
    /// The wired input <c>sensors add</c> writes: the given wiring or active level; neither given on a pulled pin, the
    /// kind's contact (<see cref="GpioWiring.DefaultWiring"/>), so a panic button on a pull-up reads idle as idle.
    /// </summary>
    internal static GpioInputOptions Wired(SensorKind kind, int headerPin, SensorAddOptions options) =>
        options.Wiring is null && options.ActiveLevel is null && options.Pull != PullMode.None
            ? new GpioInputOptions { HeaderPin = headerPin, Pull = options.Pull, Wiring = GpioWiring.DefaultWiring(kind) }
            : new GpioInputOptions { HeaderPin = headerPin, Pull = options.Pull, Wiring = options.Wiring, ActiveLevel = options.ActiveLevel ?? ActiveLevel.High };

    /// <summary>How the pin reads, for the technician: "normally-open contact with the pull-up: active when the pin reads low, idle high".</summary>
    internal static string Reading(SensorKind kind, GpioInputOptions gpio)
    {
        var active = gpio.EffectiveActiveLevel() == ActiveLevel.Low ? "low" : "high";
        var idle = active == "low" ? "high" : "low";
        var how = gpio.Wiring is { } w && gpio.Pull != PullMode.None
            ? $"{(w == ContactWiring.NormallyOpen ? "normally-open" : "normally-closed")} contact with the pull-{(gpio.Pull == PullMode.Up ? "up" : "down")}"
            : $"sensor with active level {active}";
        return $"Reads as a {how}: {(kind is SensorKind.Panic or SensorKind.CancelButton ? "pressed" : "active")} when the pin is {active}, at rest {idle}.";
    }

    internal static JsonObject Describe(SensorDefinition s) => new()
    {
        ["id"] = s.Id,
        ["kind"] = SensorKinds.Name(s.Kind),
        ["room"] = s.Room,
        ["outerDoor"] = s.OuterDoor,
        ["source"] = s.Gpio is not null ? "gpio" : "zigbee",
        ["headerPin"] = s.Gpio?.HeaderPin,
        ["line"] = s.Gpio is { } g ? SensorConfigValidation.ResolveLine(g.Line, g.HeaderPin) : null,
        ["device"] = s.Zigbee?.Device,
    };

    internal static string SourceOf(SensorDefinition s) => s switch
    {
        { Gpio: { HeaderPin: { } p } g } => string.Create(CultureInfo.InvariantCulture, $"header pin {p} (GPIO {SensorConfigValidation.ResolveLine(g.Line, p)})"),
        { Gpio: { Line: { } l } } => string.Create(CultureInfo.InvariantCulture, $"GPIO {l}"),
        { Zigbee: { } z } => $"zigbee '{z.Device}'",
        _ => "?",
    };

    internal static string? ReadPassword(string? file) => file is null ? null : File.ReadAllText(file).Trim();

    internal static GpioController OpenBoard(BoardConfig board)
    {
        try
        {
            return new GpioController(board.Driver == BoardDriver.Simulated ? new SimulatedBoard() : GpioChips.CreateDriver(board.EffectiveModel(), board.Chip));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException or InvalidOperationException or DllNotFoundException)
        {
            throw new CliException($"Cannot open the board's GPIO ({ex.Message}).", "Run as a user in the 'gpio' group (or with sudo), check board.model in the configuration, and that libgpiod is installed.", ExitCodes.CheckFailed);
        }
    }

    private static string HowToTrigger(SensorKind kind) => kind switch
    {
        SensorKind.Door => "open the door, then close it",
        SensorKind.Bed => "press on the bed mat",
        SensorKind.Motion or SensorKind.Presence => "walk in front of it",
        SensorKind.Panic => "press the button",
        _ => "use its test button",
    };

    private static async Task<SensorEvent?> WaitForAsync(ChannelReader<SensorEvent> events, string id, CancellationTokenSource timeout, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            while (true)
            {
                var e = await events.ReadAsync(linked.Token);
                if (e.SensorId == id)
                {
                    return e;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static async Task PumpAsync(LocalMqtt mqtt, Zigbee2MqttMapper mapper, Action<SensorEvent> emit, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var m in mqtt.Messages.ReadAllAsync(cancellationToken))
            {
                foreach (var e in mapper.Handle(m.Topic, m.Payload, m.Retained))
                {
                    if (!m.Retained)
                    {
                        emit(e);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
