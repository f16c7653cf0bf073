using System.Text.Json.Serialization;

namespace CareGateway.ResponseCentre.Service.Homes;

/// <summary>
/// Who lives in a home and what the operator must know to help them: the residents, the address, how to get in (the
/// key safe), what to do (free text the operator reads at once) and the people to call, in order. Kept encrypted at
/// rest (<see cref="HomeRecords"/>); the gateway never sends any of it.
/// </summary>
public sealed record HomeRecord
{
    /// <summary>Stands for a stored record this service's keys cannot open (shown as such, never as an empty home).</summary>
    public static HomeRecord Unreadable { get; } = new() { IsUnreadable = true };

    [JsonIgnore]
    public bool IsUnreadable { get; private init; }

    public List<Resident> Residents { get; init; } = [];

    /// <summary>Street and number (one line), as a person writes it.</summary>
    public string? Street { get; init; }

    public string? PostalCode { get; init; }

    public string? City { get; init; }

    /// <summary>How to get in: where the key safe is and its code, door or stair codes.</summary>
    public string? KeySafe { get; init; }

    /// <summary>What to do for this person: read at once by the operator who takes an alarm.</summary>
    public string? Instructions { get; init; }

    /// <summary>The people to call, in the order to call them.</summary>
    public List<HomeContact> Contacts { get; init; } = [];

    /// <summary>"Kari Nordmann, Ola Nordmann": the names as the queue shows them.</summary>
    [JsonIgnore]
    public string Names => string.Join(", ", Residents.Select(r => r.Name));

    /// <summary>"Storgata 1, 0155 Oslo".</summary>
    [JsonIgnore]
    public string Address => string.Join(", ", new[] { Street, string.Join(' ', new[] { PostalCode, City }.Where(s => !string.IsNullOrWhiteSpace(s))) }.Where(s => !string.IsNullOrWhiteSpace(s)));
}

/// <summary>One person who lives in the home.</summary>
public sealed record Resident
{
    public required string Name { get; init; }

    /// <summary>The national identity number (fødselsnummer or D-nummer), 11 digits; for the record export.</summary>
    public string? NationalId { get; init; }

    /// <summary>The language to speak to them in (BCP 47: nb, nn, se, en, ...).</summary>
    public string? Language { get; init; }
}

/// <summary>Someone to call about the home: a relative, the home-care team, the GP office.</summary>
public sealed record HomeContact
{
    public required string Name { get; init; }

    /// <summary>One of <see cref="ContactKinds.All"/>.</summary>
    public required string Kind { get; init; }

    public required string Phone { get; init; }

    /// <summary>"daughter, has a key", "weekdays 08-15".</summary>
    public string? Note { get; init; }
}

public static class ContactKinds
{
    public const string Relative = "relative";
    public const string HomeCare = "home-care";
    public const string GpOffice = "gp-office";
    public const string Other = "other";

    public static IReadOnlyList<string> All { get; } = [Relative, HomeCare, GpOffice, Other];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HomeRecord))]
internal sealed partial class HomeRecordJson : JsonSerializerContext;
