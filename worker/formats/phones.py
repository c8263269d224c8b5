"""Phone numbers: validated and normalised to E.164 on the way in, masked on the way out."""

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from worker.errors import InvalidInput

SMS_CAPABLE = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalise(raw: str, regions: tuple[str, ...]) -> str:
    """E.164 for a mobile number of one of ``regions``; a number without ``+`` is read as the first."""
    text = (raw or "").strip()
    if any(char.isalpha() for char in text):
        raise InvalidInput("phone", f"phone {raw!r} has letters in it; give digits only, e.g. 13812341234")
    try:
        number = phonenumbers.parse(text, regions[0])
    except NumberParseException:
        raise InvalidInput("phone", f"phone {raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone", f"phone {raw!r} is not a valid number")
    region = phonenumbers.region_code_for_number(number)
    if region not in regions:
        raise InvalidInput(
            "phone", f"phone {raw!r} is a {region} number; SMS go only to {', '.join(regions)} numbers here"
        )
    if phonenumbers.number_type(number) not in SMS_CAPABLE:
        raise InvalidInput("phone", f"phone {raw!r} is not a mobile number and cannot receive SMS")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(e164: str) -> str:
    """``+8613812341234`` -> ``+86138****1234``: country code and the first three and last four digits."""
    number = phonenumbers.parse(e164)
    country = f"+{number.country_code}"
    national = e164[len(country) :]
    return f"{country}{national[:3]}****{national[-4:]}"
