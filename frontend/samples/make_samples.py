"""Regenerate the three synthetic sample images (run: python frontend/samples/make_samples.py).

They are drawn by this script, not photographs of anyone: a skin-coloured square with a spot,
stamped "SYNTHETIC SAMPLE". They exist so that the page can be tried without real images;
what the model predicts for them means nothing.
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
SIZE = 224


def spot(background, colour, box, blur, wobble=()):
    image = Image.new("RGB", (SIZE, SIZE), background)
    mask = Image.new("L", (SIZE, SIZE), 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse(box, fill=255)
    for extra in wobble:
        draw.ellipse(extra, fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(blur))
    image.paste(Image.new("RGB", (SIZE, SIZE), colour), (0, 0), mask)
    return image


def stamp(image, number):
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=15)
    for y, text in ((4, "SYNTHETIC SAMPLE"), (SIZE - 22, f"not a photo - #{number}")):
        width = draw.textlength(text, font=font)
        draw.rectangle((0, y - 2, SIZE, y + 18), fill=(255, 255, 255))
        draw.text(((SIZE - width) / 2, y), text, fill=(160, 0, 0), font=font)
    return image


def main():
    one = spot((226, 184, 160), (120, 72, 45), (72, 72, 152, 152), 4)
    two = spot((214, 170, 140), (52, 30, 24), (60, 80, 150, 150), 2, wobble=[(110, 60, 170, 125), (80, 120, 130, 170)])
    three = spot((232, 196, 174), (176, 120, 92), (96, 96, 130, 128), 3)
    stamp(one, 1).save(HERE / "synthetic-sample-1.jpg", quality=80, optimize=True)
    stamp(two, 2).save(HERE / "synthetic-sample-2.jpg", quality=80, optimize=True)
    stamp(three, 3).quantize(colors=32).save(HERE / "synthetic-sample-3.png", optimize=True)


if __name__ == "__main__":
    main()
