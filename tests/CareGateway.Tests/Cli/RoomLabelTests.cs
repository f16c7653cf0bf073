using CareGateway.Cli;

namespace CareGateway.Tests.Cli;

/// <summary>Room labels go over the wire: a sensor's room is a generic room word or one of the home's <c>rooms</c>, never a name.</summary>
public class RoomLabelTests
{
    private static Task<(int Code, string Output)> Add(string configPath, string id, string room, int pin) =>
        CliTestKit.RunAsync(configPath, (c, p) => SensorsCommand.AddAsync(new SensorAddOptions { Id = id, Kind = "panic", Room = room, HeaderPin = pin }, p, c, CancellationToken.None), json: true);

    private static string Detail(string json) => Assert.Single(CliTestKit.ParseJson(json).GetProperty("details").EnumerateArray()).GetString()!;

    [Fact]
    public async Task A_generic_room_a_numbered_one_and_one_of_the_homes_rooms_are_taken()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, extra: """, "rooms": ["annex"]""");

        var (bedroom, said) = await Add(configPath, "panic-bed", "bedroom", 13);
        var (second, _) = await Add(configPath, "panic-bed-2", "bedroom-2", 15);
        var (annex, _) = await Add(configPath, "panic-annex", "annex", 16);

        Assert.True(bedroom == ExitCodes.Ok, said);
        Assert.Equal(ExitCodes.Ok, second);
        Assert.Equal(ExitCodes.Ok, annex);
        Assert.Equal(["bedroom", "bedroom-2", "annex"], ConfigLoader.Load(configPath).Sensors.Select(s => s.Room));
    }

    [Fact]
    public async Task A_name_as_room_is_refused_with_the_reason_and_a_near_miss_gets_did_you_mean()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir);
        var before = await File.ReadAllTextAsync(configPath);

        var (name, nameSaid) = await Add(configPath, "panic-bed", "kari", 13);
        var (capital, capitalSaid) = await Add(configPath, "panic-bed", "Kari", 13);
        var (typo, typoSaid) = await Add(configPath, "panic-bed", "bedrom", 13);

        Assert.Equal(ExitCodes.BadInput, name);
        var detail = Assert.Single(CliTestKit.ParseJson(nameSaid).GetProperty("details").EnumerateArray()).GetString();
        Assert.StartsWith("$.sensors[0].room: sensor 'panic-bed' has the room 'kari', which is not one of this home's rooms", detail, StringComparison.Ordinal);
        Assert.Contains("never people", detail, StringComparison.Ordinal);
        Assert.Contains("$.rooms", detail, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, capital);
        Assert.Contains("capitalised like a person's name", Detail(capitalSaid), StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, typo);
        Assert.Contains("Did you mean 'bedroom'?", Detail(typoSaid), StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(configPath));
    }

    [Fact]
    public async Task A_file_with_a_name_as_room_still_loads_for_the_service_but_profile_validate_and_the_homes_room_list_refuse_it()
    {
        using var dir = new TempDir();
        var configPath = CliTestKit.WriteConfig(dir, """[{ "id": "panic-bed", "kind": "panic", "room": "Kari", "gpio": { "headerPin": 13, "pull": "up", "wiring": "normally-open" } }]""", extra: """, "rooms": ["Ola", "annex"]""");

        var config = ConfigLoader.Load(configPath); // the gateway keeps protecting the home; RunCommand logs the label
        var (code, output) = await CliTestKit.RunAsync(configPath, (c, p) => ProfileCommand.ValidateAsync(null, p, c), json: true);

        Assert.Equal("Kari", Assert.Single(config.Sensors).Room);
        Assert.Equal(ExitCodes.BadInput, code);
        var details = CliTestKit.ParseJson(output).GetProperty("details").EnumerateArray().Select(d => d.GetString()!).ToList();
        Assert.Contains(details, d => d.StartsWith("$.rooms[0]: 'Ola' is not a room label", StringComparison.Ordinal));
        Assert.Contains(details, d => d.StartsWith("$.sensors[0].room: sensor 'panic-bed' has the room 'Kari'", StringComparison.Ordinal));
    }
}
