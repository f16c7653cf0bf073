using System.Globalization;
using System.Text;

namespace CareGateway.Protocol;

/// <summary>
/// Text that came from outside (a gateway's payload or topic) made safe for one log line: control characters and the
/// Unicode line and paragraph separators are written as escapes (<c>\n</c>, <c>\r</c>, <c>\t</c>, <c>\u001b</c>...),
/// so a newline in a field can never start a forged log line (issue 19 finding 15). Everything else is kept as it is,
/// so escaping twice changes nothing.
/// </summary>
public static class LogText
{
    public static string Escape(string? text)
    {
        if (text is null)
        {
            return string.Empty;
        }

        if (!text.Any(NeedsEscape))
        {
            return text;
        }

        var b = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            _ = c switch
            {
                '\n' => b.Append("\\n"),
                '\r' => b.Append("\\r"),
                '\t' => b.Append("\\t"),
                _ when NeedsEscape(c) => b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => b.Append(c),
            };
        }

        return b.ToString();
    }

    private static bool NeedsEscape(char c) => char.IsControl(c) || c is '\u2028' or '\u2029' or '\u0085';
}
