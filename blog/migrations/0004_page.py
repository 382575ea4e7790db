import django.db.models.expressions
import markdownx.models
from django.db import migrations, models

import blog.models


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0003_chrome_version_and_image_fields"),
    ]

    operations = [
        migrations.CreateModel(
            name="Page",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("title", models.CharField(max_length=200)),
                (
                    "slug",
                    models.SlugField(
                        help_text="The page's address: /<slug>/.",
                        max_length=100,
                        unique=True,
                        validators=[blog.models.validate_section_slug],
                    ),
                ),
                (
                    "body",
                    markdownx.models.MarkdownxField(
                        help_text="Markdown. Drop or paste an image to upload it."
                    ),
                ),
                ("body_html", models.TextField(blank=True, editable=False)),
                (
                    "nav_position",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="Place in the site navigation, after the sections, lowest "
                        "first. Leave blank to keep the page out of the navigation.",
                        null=True,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": [
                    django.db.models.expressions.OrderBy(
                        django.db.models.expressions.F("nav_position"), nulls_last=True
                    ),
                    "title",
                ],
            },
        ),
    ]
