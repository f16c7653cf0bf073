using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace CareGateway.ResponseCentre.Service.Homes;

/// <summary>
/// Reads the home form (residents <c>r0.name</c> ..., contacts <c>c0.name</c> ...) into a record, checking every field
/// and reporting every problem at once, each with the field it is in, in words.
/// </summary>
public static partial class HomeForm
{
    public const int MaxResidents = 4;
    public const int MaxContacts = 8;
    public const int MaxLine = 100;
    public const int MaxKeySafe = 500;
    public const int MaxInstructions = 2000;

    public static (HomeRecord Record, IReadOnlyList<string> Errors) Read(IFormCollection form)
    {
        ArgumentNullException.ThrowIfNull(form);
        var errors = new List<string>();
        string? Field(string name, string label, int max, bool multiline = false)
        {
            var value = form[name].ToString().Trim();
            if (value.Length == 0)
            {
                return null;
            }

            if (value.Length > max)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{label}: at most {max} characters ({value.Length} given)."));
            }
            else if (value.Any(c => char.IsControl(c) && !(multiline && c is '\n' or '\r' or '\t')))
            {
                errors.Add($"{label}: {(multiline ? "" : "one line, ")}no control characters.");
            }

            return value;
        }

        var residents = new List<Resident>();
        for (var i = 0; i < MaxResidents; i++)
        {
            var n = (i + 1).ToString(CultureInfo.InvariantCulture);
            var name = Field($"r{i}.name", $"Resident {n}, name", MaxLine);
            var id = Field($"r{i}.nationalId", $"Resident {n}, national identity number", 20)?.Replace(" ", "", StringComparison.Ordinal);
            var language = Field($"r{i}.language", $"Resident {n}, language", 20);
            if (name is null)
            {
                if (id is not null || language is not null)
                {
                    errors.Add($"Resident {n}: a name is needed with the other fields.");
                }

                continue;
            }

            if (id is not null && NationalIdProblem(id) is { } problem)
            {
                errors.Add($"Resident {n}, national identity number: {problem}");
            }

            if (language is not null && !LanguageTag().IsMatch(language))
            {
                errors.Add($"Resident {n}, language: '{Short(language)}' is not a language code (nb, nn, se, en, pl ...).");
            }

            residents.Add(new Resident { Name = name, NationalId = id, Language = language?.ToLowerInvariant() });
        }

        var contacts = new List<HomeContact>();
        for (var i = 0; i < MaxContacts; i++)
        {
            var n = (i + 1).ToString(CultureInfo.InvariantCulture);
            var name = Field($"c{i}.name", $"Contact {n}, name", MaxLine);
            var phone = Field($"c{i}.phone", $"Contact {n}, phone", 30);
            var note = Field($"c{i}.note", $"Contact {n}, note", MaxLine);
            var kind = form[$"c{i}.kind"].ToString();
            if (name is null && phone is null && note is null)
            {
                continue;
            }

            if (name is null || phone is null)
            {
                errors.Add($"Contact {n}: both a name and a phone number are needed.");
                continue;
            }

            if (!PhoneNumber().IsMatch(phone))
            {
                errors.Add($"Contact {n}, phone: '{Short(phone)}' is not a phone number (digits, spaces, a leading +).");
            }

            if (!ContactKinds.All.Contains(kind, StringComparer.Ordinal))
            {
                errors.Add($"Contact {n}, kind: '{Short(kind)}' is not one of {string.Join(", ", ContactKinds.All)}.");
            }

            contacts.Add(new HomeContact { Name = name, Kind = kind, Phone = phone, Note = note });
        }

        var postalCode = Field("postalCode", "Postal code", 10);
        if (postalCode is not null && !PostalCode().IsMatch(postalCode))
        {
            errors.Add($"Postal code: '{Short(postalCode)}' is not a Norwegian postal code (four digits).");
        }

        var record = new HomeRecord
        {
            Residents = residents,
            Street = Field("street", "Street address", MaxLine),
            PostalCode = postalCode,
            City = Field("city", "City", MaxLine),
            KeySafe = Field("keySafe", "Key safe and access", MaxKeySafe, multiline: true),
            Instructions = Field("instructions", "What to do", MaxInstructions, multiline: true),
            Contacts = contacts,
        };
        if (residents.Count == 0)
        {
            errors.Add("Resident 1, name: a home record names at least one resident.");
        }

        return (record, errors);
    }

    /// <summary>
    /// Null when <paramref name="id"/> is a well-formed Norwegian national identity number (fødselsnummer, D-nummer or
    /// a synthetic test number): 11 digits whose two check digits (modulus 11) match. Otherwise what is wrong.
    /// </summary>
    public static string? NationalIdProblem(string id)
    {
        if (id.Length != 11 || !id.All(char.IsAsciiDigit))
        {
            return $"'{Short(id)}' is not 11 digits.";
        }

        int[] d = [.. id.Select(c => c - '0')];
        int[] w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
        int[] w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
        static int Check(int[] digits, int[] weights)
        {
            var k = 11 - (weights.Select((w, i) => w * digits[i]).Sum() % 11);
            return k == 11 ? 0 : k;
        }

        var k1 = Check(d, w1);
        var k2 = Check(d, w2);
        return k1 == 10 || k2 == 10 || k1 != d[9] || k2 != d[10]
            ? "the check digits do not match (a digit is mistyped)."
            : null;
    }

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "...";

    [GeneratedRegex(@"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
    private static partial Regex LanguageTag();

    [GeneratedRegex(@"^\+?[0-9][0-9 ]{4,19}$")]
    private static partial Regex PhoneNumber();

    [GeneratedRegex(@"^[0-9]{4}$")]
    private static partial Regex PostalCode();
}
