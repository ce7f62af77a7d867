import asyncio

from google import genai
from google.genai import types


async def main() -> None:
    client = genai.Client()
    config = types.GenerateContentConfig(max_output_tokens=100)
    response = await client.aio.models.generate_content(
        model="gemini-2.5-flash-lite", contents="Name three rivers.", config=config
    )
    print(response.text)
    async for chunk in await client.aio.models.generate_content_stream(
        model="gemini-2.5-flash-lite", contents="Name three mountains.", config=config
    ):
        print(chunk.text)


asyncio.run(main())
