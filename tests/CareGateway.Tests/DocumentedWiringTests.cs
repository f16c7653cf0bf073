using System.Device.Gpio;
using System.Text.Json;
using System.Text.RegularExpressions;
using CareGateway.Cli;
using CareGateway.Hardware;
using CareGateway.Sensors;
using CareGateway.Tests.Cli;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

/// <summary>
/// Every wired sensor the docs show (the <c>sensors add</c> commands of docs/installation.md, the JSON of
/// docs/sensors.md and docs/configuration.md, the example configurations and the wiring table) reads idle as idle and
/// pressed or triggered as active: the pin is set to the level its contact gives at rest and when actuated, on a
/// simulated board, and the input's reading is checked. How each contact is built comes from what the docs say the
/// sensor is, not from its configuration, so a configuration that reads the wrong way fails here.
/// </summary>
public class DocumentedWiringTests
{
    /// <summary>Each documented wired sensor: is its contact closed at rest (a door loop while the door is shut, a pull cord), or open (a button, an empty mat, a relay)?</summary>
    private static readonly Dictionary<string, bool> ClosedAtRest = new(StringComparer.Ordinal)
    {
        ["door-front"] = true,      // a reed loop, closed while the door is shut
        ["panic-bed"] = false,      // installation.md: a panic button, open until pressed
        ["panic-bedroom"] = false,  // configuration.md: a panic button
        ["cord-bathroom"] = true,   // a pull cord: its contact opens when pulled
        ["bed-main"] = false,       // a pressure mat: closes when somebody lies on it
        ["fall-relay"] = false,     // a fall detector's relay: closes on a fall
        ["cancel-hallway"] = false, // a button
        ["pir-hallway"] = false,    // a PIR's relay: closes (to 3.3 V, against the pull-down) on motion
    };

    public static TheoryData<string, string> DocumentedSensors()
    {
        var data = new TheoryData<string, string>();
        foreach (var (source, sensor) in FromDocs())
        {
            data.Add(source, sensor.Id);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DocumentedSensors))]
    public void A_documented_wired_sensor_reads_rest_as_idle_and_actuated_as_active(string source, string id)
    {
        var sensor = FromDocs().Single(d => d.Source == source && d.Sensor.Id == id).Sensor;
        Assert.True(ClosedAtRest.TryGetValue(id, out var closed), $"{source} shows wired sensor '{id}': say in {nameof(ClosedAtRest)} how its contact rests");

        ReadsRestAsIdleAndActuatedAsActive(sensor, closed);
    }

    [Fact]
    public void The_docs_show_the_panic_button_of_installation_md_and_every_example_sensor()
    {
        var shown = FromDocs().Select(d => $"{d.Source}: {d.Sensor.Id}").ToList();

        Assert.Contains("docs/installation.md: panic-bed", shown);
        Assert.Contains("docs/installation.md: door-front", shown);
        Assert.Contains("docs/sensors.md: door-front", shown);
        Assert.Contains("docs/configuration.md: panic-bedroom", shown);
        Assert.Contains("docs/examples/gateway-sensors.json: cord-bathroom", shown);
    }

    /// <summary>The wiring table of docs/sensors.md: which level a contact gives, and which level that config reads as active.</summary>
    [Theory]
    [InlineData(ContactWiring.NormallyOpen, PullMode.Up)]
    [InlineData(ContactWiring.NormallyOpen, PullMode.Down)]
    [InlineData(ContactWiring.NormallyClosed, PullMode.Up)]
    [InlineData(ContactWiring.NormallyClosed, PullMode.Down)]
    public void Each_row_of_the_wiring_table_reads_rest_as_idle(ContactWiring wiring, PullMode pull) =>
        ReadsRestAsIdleAndActuatedAsActive(
            new SensorDefinition { Id = "contact-1", Kind = SensorKind.Panic, Room = "hallway", Gpio = new() { Line = 27, Pull = pull, Wiring = wiring, DebounceMs = 30 } },
            closedAtRest: wiring == ContactWiring.NormallyClosed);

    /// <summary><c>sensors add</c> without <c>--wiring</c>: a door is normally-closed, every other kind normally-open, with either pull.</summary>
    [Theory]
    [InlineData("door", "up", true)]
    [InlineData("door", "down", true)]
    [InlineData("panic", "up", false)]
    [InlineData("panic", "down", false)]
    [InlineData("cancel-button", "up", false)]
    [InlineData("bed", "up", false)]
    [InlineData("smoke", "up", false)]
    public async Task Sensors_add_without_wiring_takes_the_kinds_contact_and_reads_rest_as_idle(string kind, string pull, bool closedAtRest)
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir);

        var code = await GatewayCommandLine.InvokeAsync(["sensors", "add", "s-1", "--kind", kind, "--room", "hallway", "--pin", "13", "--pull", pull, "--config", configPath]);

        Assert.Equal(ExitCodes.Ok, code);
        ReadsRestAsIdleAndActuatedAsActive(Assert.Single(ConfigLoader.Load(configPath).Sensors), closedAtRest);
    }

    [Fact]
    public async Task Sensors_add_says_how_the_pin_reads()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir);

        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.AddAsync(new SensorAddOptions { Id = "panic-bed", Kind = "panic", Room = "bedroom", HeaderPin = 13 }, p, c, CancellationToken.None));

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("Reads as a normally-open contact with the pull-up: pressed when the pin is low, at rest high.", output, StringComparison.Ordinal);
        Assert.Equal(ContactWiring.NormallyOpen, Assert.Single(ConfigLoader.Load(configPath).Sensors).Gpio!.Wiring);
    }

    private static PinValue Level(PullMode pull, bool closed) => pull switch
    {
        // A contact connects the line to the rail opposite its pull; open, the pull holds the line.
        PullMode.Up => closed ? PinValue.Low : PinValue.High,
        PullMode.Down => closed ? PinValue.High : PinValue.Low,
        _ => throw new InvalidOperationException("a contact without a pull floats: the docs show none"),
    };

    private static void ReadsRestAsIdleAndActuatedAsActive(SensorDefinition sensor, bool closedAtRest)
    {
        var gpio = sensor.Gpio!;
        var line = SensorConfigValidation.ResolveLine(gpio.Line, gpio.HeaderPin)!.Value;
        var rest = Level(gpio.Pull, closedAtRest);
        var actuated = Level(gpio.Pull, !closedAtRest);
        var clock = new FakeTimeProvider();
        var board = new SimulatedBoard();
        board.SetInput(line, rest);
        using var controller = new GpioController(board);
        using var input = new GpioSensorInput(controller, sensor with { Gpio = gpio with { Line = line } }, clock, _ => { });
        var hold = TimeSpan.FromMilliseconds(gpio.DebounceMs + gpio.SettleMs + 10);

        Assert.False(input.Active, $"'{sensor.Id}' reads active at rest (pin {rest})");
        board.SetInput(line, actuated);
        clock.Advance(hold);
        Assert.True(input.Active, $"'{sensor.Id}' does not read active when actuated (pin {actuated})");
        board.SetInput(line, rest);
        clock.Advance(hold);
        Assert.False(input.Active, $"'{sensor.Id}' does not read idle again at rest");
    }

    /// <summary>Every wired sensor in the docs, with where it is shown.</summary>
    private static List<(string Source, SensorDefinition Sensor)> FromDocs()
    {
        var found = new List<(string, SensorDefinition)>();
        foreach (var file in Directory.GetFiles(RepoFiles.PathOf("docs", "examples"), "gateway*.json").Order(StringComparer.Ordinal))
        {
            found.AddRange(ConfigLoader.Load(file).Sensors.Where(s => s.Gpio is not null).Select(s => ($"docs/examples/{Path.GetFileName(file)}", s)));
        }

        foreach (var doc in new[] { "sensors.md", "configuration.md", "installation.md" })
        {
            var text = RepoFiles.Read("docs", doc);
            foreach (Match block in Regex.Matches(text, @"```jsonc?\n(.*?)```", RegexOptions.Singleline))
            {
                found.AddRange(SensorsIn(block.Groups[1].Value).Select(s => ($"docs/{doc}", s)));
            }

            found.AddRange(AddedBy(text).Select(s => ($"docs/{doc}", s)));
        }

        return found;
    }

    /// <summary>The wired sensors of one JSON block: a whole configuration, or one sensor.</summary>
    private static IEnumerable<SensorDefinition> SensorsIn(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException) when (!json.Contains("\"gpio\"", StringComparison.Ordinal) || !json.Contains("\"id\"", StringComparison.Ordinal))
        {
            return []; // a fragment of some other section ("zigbee": { ... }), no sensor in it
        }

        using var parsed = doc;
        var root = doc.RootElement;
        using var dir = new TempDir();
        string path;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("sensors", out _) && root.TryGetProperty("gatewayId", out _))
        {
            path = dir.File("gateway.json");
            File.WriteAllText(path, json);
        }
        else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("id", out _) && root.TryGetProperty("gpio", out _))
        {
            path = CliTestKit.WriteConfig(dir, "[" + json + "]");
        }
        else
        {
            return [];
        }

        return [.. ConfigLoader.Load(path).Sensors.Where(s => s.Gpio is not null)];
    }

    /// <summary>The sensors the doc's <c>care-gateway sensors add ... --pin N</c> commands add, run as a technician types them.</summary>
    private static IEnumerable<SensorDefinition> AddedBy(string text)
    {
        foreach (Match command in Regex.Matches(text, @"care-gateway (sensors add [^\n`#]*--pin [^\n`#]*)"))
        {
            using var dir = new TempDir();
            var configPath = CliTestKit.WriteConfig(dir);
            var args = command.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var code = GatewayCommandLine.InvokeAsync([.. args, "--config", configPath]).GetAwaiter().GetResult();
            Assert.True(code == ExitCodes.Ok, $"'{command.Value}' exits {code}");
            yield return Assert.Single(ConfigLoader.Load(configPath).Sensors);
        }
    }
}
