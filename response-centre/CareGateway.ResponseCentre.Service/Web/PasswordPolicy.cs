namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// What an operator's password must be (issue 19 finding 14): at least <see cref="MinLength"/> characters, not
/// containing the user name, not one character repeated or a short pattern repeated, not a run along the keyboard or
/// the alphabet, and not one of the most common passwords (an embedded list, <c>Web/common-passwords.txt</c>, English
/// and Norwegian), nor one of them with digits or signs added at the end. Length is what matters most; the other rules
/// stop the guesses an attacker tries first. Several unrelated words ("correct horse battery") pass.
/// </summary>
public static class PasswordPolicy
{
    public const int MinLength = 10;

    /// <summary>User names shorter than this are not looked for in the password (a two-letter name is in many words).</summary>
    public const int MinNameLengthChecked = 3;

    /// <summary>A pattern this short or shorter, repeated to fill the password, counts as trivial ("abcabcabca").</summary>
    public const int MaxRepeatedUnit = 4;

    private const string ResourceName = "common-passwords.txt";

    // Runs along a keyboard (Norwegian layout) or the alphabet; the digits twice so that "7890123456" is a run too.
    private static readonly string[] Runs =
    [
        "01234567890123456789",
        "abcdefghijklmnopqrstuvwxyzæøå",
        "qwertyuiopå",
        "asdfghjkløæ",
        "zxcvbnm",
        "qwertzuiop",
        "azertyuiop",
        "1qaz2wsx3edc4rfv5tgb6yhn7ujm",
        "qazwsxedcrfvtgbyhnujmikolp",
    ];

    private static readonly Lazy<HashSet<string>> Common = new(LoadCommon);

    /// <summary>How many passwords the embedded list holds (for tests).</summary>
    public static int CommonCount => Common.Value.Count;

    /// <summary>
    /// Null when <paramref name="password"/> is acceptable for <paramref name="userName"/>; otherwise one sentence
    /// saying which rule it breaks (it never quotes the password).
    /// </summary>
    public static string? Problem(string userName, string password)
    {
        if (password.Length < MinLength)
        {
            return $"the password must have at least {MinLength} characters ({password.Length} given); several unrelated words make a good one";
        }

        var lower = password.ToLowerInvariant();
        var name = userName.Trim().ToLowerInvariant();
        if (name.Length >= MinNameLengthChecked && lower.Contains(name, StringComparison.Ordinal))
        {
            return "the password must not contain the user name";
        }

        if (lower.Distinct().Count() == 1)
        {
            return "the password is one character repeated; several unrelated words make a good one";
        }

        if (IsRepeatedUnit(lower))
        {
            return $"the password is a short pattern (at most {MaxRepeatedUnit} characters) repeated; several unrelated words make a good one";
        }

        if (IsRun(lower))
        {
            return "the password is a run along the keyboard or the alphabet (digits in order, a row of keys), which is tried first";
        }

        if (Common.Value.Contains(lower))
        {
            return "the password is one of the most common passwords, which are tried first";
        }

        var stem = lower.TrimEnd("0123456789!?.,;:-_+*#@$%&/()=' \"".ToCharArray());
        if (stem.Length > 0 && stem.Length < lower.Length && Common.Value.Contains(stem))
        {
            return "the password is a common password with digits or signs added at the end, which is tried early";
        }

        return null;
    }

    private static bool IsRepeatedUnit(string s)
    {
        for (var unit = 1; unit <= MaxRepeatedUnit && unit < s.Length; unit++)
        {
            var repeated = true;
            for (var i = unit; i < s.Length && repeated; i++)
            {
                repeated = s[i] == s[i - unit];
            }

            if (repeated)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsRun(string s)
    {
        var reversed = new string(s.Reverse().ToArray());
        return Runs.Any(r => r.Contains(s, StringComparison.Ordinal) || r.Contains(reversed, StringComparison.Ordinal));
    }

    private static HashSet<string> LoadCommon()
    {
        using var stream = typeof(PasswordPolicy).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the list of common passwords ({ResourceName}) is missing from the build");
        using var reader = new StreamReader(stream);
        var set = new HashSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0 && !line.StartsWith('#'))
            {
                set.Add(line.Trim().ToLowerInvariant());
            }
        }

        return set;
    }
}
